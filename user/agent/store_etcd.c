// SPDX-License-Identifier: GPL-2.0-only
/*
 * store_etcd.c - challenges shared through etcd, over its v3 JSON gateway
 * (HTTPS, libcurl loaded on first use: curl_dl.h, json-c): a lease per challenge (its ttl), a watch on
 * the prefix (no polling), mutual TLS (etcd --client-cert-auth) and an
 * etcd user whose role says which keys it may read or write.  The gateway
 * takes no identity from a certificate's CN (etcd refuses a gateway client
 * whose certificate has one), so the user authenticates with a password
 * and /v3/auth/authenticate; the certificate decides who may connect at
 * all.  It is the store (store.h) of https:// URLs.  docs/design.md,
 * "Agent and fleet".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "attach_fields.h"
#include "curl_dl.h"
#include "log.h"
#include "store_etcd.h"
#include "store_sandbox.h"

#define STORE_TIMEOUT_S 5
#define STORE_BACKOFF_MAX_MS 5000
/*
 * Everything read from the store is bounded (issue 20: 100 values of 1 MB
 * under a tenant's prefix took a fresh watcher to 265 MiB).  An entry is
 * some 200 bytes of JSON: one over STORE_VALUE_MAX is refused, an Error
 * each, and never held whole.  The listing reads keys only, a page at a
 * time, then each value on its own with a cap; a watch message over
 * STORE_MSG_MAX (one oversized value, or a burst) ends the watch, and a
 * listing from that point takes its place.
 */
#define STORE_VALUE_B64_MAX ((STORE_VALUE_MAX + 2) / 3 * 4)
#define STORE_KEY_MAX 512
#define STORE_GET_MAX (4 * STORE_VALUE_MAX + 2 * STORE_KEY_MAX)
#define STORE_PAGE_KEYS 256
#define STORE_PAGE_MAX (1UL << 20)
#define STORE_REPLY_MAX (64UL << 10) /* auth, lease, put, delete */
#define STORE_MSG_MAX (256UL << 10)
/* The largest key etcd takes (its 1.5 MiB request), base64 and JSON. */
#define STORE_ONE_KEY_MAX (3UL << 20)

/* ---- HTTP ---- */

struct buf {
	char *p;
	size_t len, max;
	bool over; /* the reply went past max: cut, and refused */
};

/* The watcher's credentials, read as root before it gives root up
 * (store_confine()); the CLI's put and delete read the files. */
static struct {
	bool loaded;
	char *ca, *cert, *key;
	size_t ca_len, cert_len, key_len;
	char pw[512];
} creds;
/* The watcher's handle for its requests: one connection kept alive
 * through a listing's many small requests. */
static CURL *keep;

static size_t on_data(char *d, size_t sz, size_t n, void *arg)
{
	struct buf *b = arg;
	char *np;

	if (b->len + sz * n > b->max) {
		b->over = true;
		return 0; /* curl ends the transfer: CURLE_WRITE_ERROR */
	}
	np = realloc(b->p, b->len + sz * n + 1);
	if (!np)
		return 0;
	memcpy(np + b->len, d, sz * n);
	b->p = np;
	b->len += sz * n;
	b->p[b->len] = '\0';
	return sz * n;
}

static void b64(const char *in, size_t len, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, len);
}

/* The first endpoint of a comma-separated list, then the next on failure. */
static void endpoint(const struct store_opts *o, int idx, char *buf, size_t len)
{
	const char *s = o->url, *c;
	int i;

	for (i = 0; i < idx && (c = strchr(s, ',')); i++)
		s = c + 1;
	c = strchr(s, ',');
	snprintf(buf, len, "%.*s", (int)(c ? c - s : (long)strlen(s)), s);
}

static int nr_endpoints(const struct store_opts *o)
{
	const char *s;
	int n = 1;

	for (s = o->url; (s = strchr(s, ',')); s++)
		n++;
	return n;
}

static void setup_tls(CURL *c, const struct store_opts *o)
{
	if (creds.loaded) {
		struct curl_blob b = { .flags = CURL_BLOB_COPY };

		if (creds.ca) {
			b.data = creds.ca;
			b.len = creds.ca_len;
			cdl.easy_setopt(c, CURLOPT_CAINFO_BLOB, &b);
		}
		if (creds.cert) {
			b.data = creds.cert;
			b.len = creds.cert_len;
			cdl.easy_setopt(c, CURLOPT_SSLCERT_BLOB, &b);
			cdl.easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
		}
		if (creds.key) {
			b.data = creds.key;
			b.len = creds.key_len;
			cdl.easy_setopt(c, CURLOPT_SSLKEY_BLOB, &b);
			cdl.easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
		}
	} else {
		if (o->cacert)
			cdl.easy_setopt(c, CURLOPT_CAINFO, o->cacert);
		if (o->cert)
			cdl.easy_setopt(c, CURLOPT_SSLCERT, o->cert);
		if (o->key)
			cdl.easy_setopt(c, CURLOPT_SSLKEY, o->key);
	}
	cdl.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	cdl.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	cdl.easy_setopt(c, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
	cdl.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	cdl.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cdl.easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	cdl.easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 5L);
	cdl.easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 2L);
}

/* POST @body to @path; the reply in *@out (json_object, caller puts).
 * @token: the auth header or NULL.  -errno, with @err saying why. */
static int post_max(const struct store_opts *o, const char *base,
		    const char *path, const char *token, const char *body,
		    size_t max, struct json_object **out, char *err,
		    size_t errlen)
{
	struct curl_slist *h = NULL;
	char url[1024], auth[1200];
	struct buf b = { .max = max };
	long code = 0;
	CURLcode rc;
	CURL *c;
	int ret = 0;

	*out = NULL;
	c = keep;
	if (c)
		cdl.easy_reset(c); /* its connection stays */
	else
		c = cdl.easy_init();
	if (!c)
		return -ENOMEM;
	snprintf(url, sizeof(url), "%s%s", base, path);
	cdl.easy_setopt(c, CURLOPT_URL, url);
	setup_tls(c, o);
	cdl.easy_setopt(c, CURLOPT_POSTFIELDS, body);
	cdl.easy_setopt(c, CURLOPT_TIMEOUT, (long)STORE_TIMEOUT_S);
	cdl.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	cdl.easy_setopt(c, CURLOPT_WRITEDATA, &b);
	h = cdl.slist_append(h, "Content-Type: application/json");
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: %s", token);
		h = cdl.slist_append(h, auth);
	}
	cdl.easy_setopt(c, CURLOPT_HTTPHEADER, h);
	rc = cdl.easy_perform(c);
	cdl.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (b.over) {
		snprintf(err, errlen, "%s%s: a reply over %zu bytes", base,
			 path, max);
		ret = -EFBIG;
	} else if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s: %s", base, cdl.easy_strerror(rc));
		ret = -EIO;
	} else {
		*out = b.p ? json_tokener_parse(b.p) : NULL;
		if (code != 200) {
			struct json_object *m;

			snprintf(err, errlen, "%s%s: HTTP %ld%s%s", base, path,
				 code,
				 *out && json_object_object_get_ex(
						 *out, "message", &m) ?
					 ": " :
					 "",
				 *out && json_object_object_get_ex(
						 *out, "message", &m) ?
					 json_object_get_string(m) :
					 "");
			ret = code == 401 || code == 403 ? -EACCES : -EIO;
			json_object_put(*out);
			*out = NULL;
		} else if (!*out) {
			snprintf(err, errlen, "%s%s: not JSON", base, path);
			ret = -EIO;
		}
	}
	free(b.p);
	cdl.slist_free_all(h);
	if (c != keep)
		cdl.easy_cleanup(c);
	return ret;
}

static int post(const struct store_opts *o, const char *base, const char *path,
		const char *token, const char *body, struct json_object **out,
		char *err, size_t errlen)
{
	return post_max(o, base, path, token, body, STORE_REPLY_MAX, out, err,
			errlen);
}

/* A credential file, whole, into memory (at most 64 KiB). */
static int slurp(const char *path, char **buf, size_t *len)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > 65536) {
		close(fd);
		return -EINVAL;
	}
	*buf = calloc(1, st.st_size + 1);
	if (!*buf) {
		close(fd);
		return -ENOMEM;
	}
	n = read(fd, *buf, st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(*buf);
		*buf = NULL;
		return -EIO;
	}
	*len = n;
	return 0;
}

/* The watcher's credentials into memory, while it may read them. */
static int creds_load(const struct store_opts *o)
{
	const struct {
		const char *path;
		char **buf;
		size_t *len;
	} f[] = {
		{ o->cacert, &creds.ca, &creds.ca_len },
		{ o->cert, &creds.cert, &creds.cert_len },
		{ o->key, &creds.key, &creds.key_len },
	};
	char *pw = NULL;
	size_t i, n;
	int err;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (!f[i].path)
			continue;
		err = slurp(f[i].path, f[i].buf, f[i].len);
		if (err) {
			p_err("store watcher: cannot read %s: %s", f[i].path,
			      strerror(-err));
			return err;
		}
	}
	if (o->password_file) {
		err = slurp(o->password_file, &pw, &n);
		if (err) {
			p_err("store watcher: cannot read %s: %s",
			      o->password_file, strerror(-err));
			return err;
		}
		pw[strcspn(pw, "\r\n")] = '\0';
		snprintf(creds.pw, sizeof(creds.pw), "%s", pw);
		memset(pw, 0, n);
		free(pw);
	}
	creds.loaded = true;
	return 0;
}

/* An auth token for o->user, or NULL without a user (auth disabled). */
static int authenticate(const struct store_opts *o, const char *base,
			char **token, char *err, size_t errlen)
{
	struct json_object *r, *t, *req;
	char pw[512] = "";
	FILE *f;
	int rc;

	*token = NULL;
	if (!o->user)
		return 0;
	if (!o->password_file) {
		snprintf(err, errlen,
			 "--store-user needs --store-password-file");
		return -EINVAL;
	}
	f = creds.loaded ? NULL : fopen(o->password_file, "re");
	if (creds.loaded)
		snprintf(pw, sizeof(pw), "%s", creds.pw);
	else if (!f || !fgets(pw, sizeof(pw), f)) {
		snprintf(err, errlen, "cannot read %s: %s", o->password_file,
			 strerror(errno));
		if (f)
			fclose(f);
		return -EINVAL;
	}
	if (f)
		fclose(f);
	pw[strcspn(pw, "\r\n")] = '\0';
	req = json_object_new_object();
	json_object_object_add(req, "name", json_object_new_string(o->user));
	json_object_object_add(req, "password", json_object_new_string(pw));
	rc = post(o, base, "/v3/auth/authenticate", NULL,
		  json_object_to_json_string(req), &r, err, errlen);
	json_object_put(req);
	memset(pw, 0, sizeof(pw));
	if (rc)
		return rc;
	if (json_object_object_get_ex(r, "token", &t))
		*token = strdup(json_object_get_string(t));
	json_object_put(r);
	if (!*token) {
		snprintf(err, errlen, "%s: no token for user %s", base,
			 o->user);
		return -EACCES;
	}
	return 0;
}

/* One operation against each endpoint in turn until one answers. */
typedef int (*store_op)(const struct store_opts *o, const char *base,
			const char *token, void *arg, char *err, size_t errlen);

static int with_store(const struct store_opts *o, store_op op, void *arg,
		      char *err, size_t errlen)
{
	char base[512];
	char *token;
	int i, rc = -EIO;

	for (i = 0; i < nr_endpoints(o); i++) {
		endpoint(o, i, base, sizeof(base));
		rc = authenticate(o, base, &token, err, errlen);
		if (!rc) {
			rc = op(o, base, token, arg, err, errlen);
			free(token);
		}
		if (rc != -EIO)
			break;
	}
	return rc;
}

struct put_arg {
	const char *key;
	const char *val;
	long ttl;
};

static int op_put(const struct store_opts *o, const char *base,
		  const char *token, void *arg, char *err, size_t errlen)
{
	struct put_arg *a = arg;
	struct json_object *r, *id;
	char body[8192], k[1024], v[4096], lease[32] = "0";
	int rc;

	snprintf(body, sizeof(body), "{\"TTL\":%ld}", a->ttl);
	rc = post(o, base, "/v3/lease/grant", token, body, &r, err, errlen);
	if (rc)
		return rc;
	if (json_object_object_get_ex(r, "ID", &id))
		snprintf(lease, sizeof(lease), "%s",
			 json_object_get_string(id));
	json_object_put(r);
	b64(a->key, strlen(a->key), k);
	b64(a->val, strlen(a->val), v);
	snprintf(body, sizeof(body),
		 "{\"key\":\"%s\",\"value\":\"%s\",\"lease\":\"%s\"}", k, v,
		 lease);
	rc = post(o, base, "/v3/kv/put", token, body, &r, err, errlen);
	json_object_put(r);
	if (rc && strcmp(lease, "0")) {
		/* Refused (a key outside the role): the lease goes too, not
		 * at its ttl. */
		char e2[200];

		snprintf(body, sizeof(body), "{\"ID\":\"%s\"}", lease);
		if (!post(o, base, "/v3/lease/revoke", token, body, &r, e2,
			  sizeof(e2)))
			json_object_put(r);
	}
	return rc;
}

static int op_del(const struct store_opts *o, const char *base,
		  const char *token, void *arg, char *err, size_t errlen)
{
	struct json_object *r;
	char body[2048], k[1024];
	int rc;

	b64(arg, strlen(arg), k);
	snprintf(body, sizeof(body), "{\"key\":\"%s\"}", k);
	rc = post(o, base, "/v3/kv/deleterange", token, body, &r, err, errlen);
	json_object_put(r);
	return rc;
}

static void say_store_error(int rc, const char *err, const char *what)
{
	p_err("store: %s: %s", what, err);
	if (rc == -EACCES)
		p_hint("the store's user needs a readwrite role on this name's key (README, \"Agent and fleet\")");
	else
		p_hint("--store https://HOST:2379 with --store-ca, --store-cert/--store-key and --store-user/--store-password-file (or ALPNSTEER_STORE*)");
}

static int etcd_put(const struct store_opts *o, const struct agent_entry *e,
		    long ttl)
{
	char key[1024], err[600] = "", *val;
	struct put_arg a;
	int rc;

	rc = agent_store_key(AGENT_STORE_PREFIX, e->ident, key, sizeof(key),
			     err, sizeof(err));
	if (rc) {
		p_err("%s", err);
		return rc;
	}
	rc = curl_dl_open();
	if (rc)
		return rc;
	val = agent_entry_json(e);
	if (!val)
		return -ENOMEM;
	a = (struct put_arg){ .key = key, .val = val, .ttl = ttl };
	rc = with_store(o, op_put, &a, err, sizeof(err));
	free(val);
	if (rc)
		say_store_error(rc, err, e->ident);
	return rc;
}

static int etcd_del(const struct store_opts *o, const char *ident)
{
	char key[1024], err[600] = "";
	int rc;

	rc = agent_store_key(AGENT_STORE_PREFIX, ident, key, sizeof(key), err,
			     sizeof(err));
	if (rc) {
		p_err("%s", err);
		return rc;
	}
	rc = curl_dl_open();
	if (rc)
		return rc;
	rc = with_store(o, op_del, key, err, sizeof(err));
	if (rc)
		say_store_error(rc, err, ident);
	return rc;
}

/* ---- the watcher process ---- */

/* Entries refused for their size, by key and revision: said once, and
 * not read again at the next listing. */
#define REFUSED_MAX 4096
struct refused {
	uint64_t key;
	long long rev;
};

struct watcher {
	const struct store_opts *o;
	int out;
	long long revision;
	struct json_tokener *tok;
	bool created;
	size_t msg_bytes; /* of the watch message being read */
	bool msg_over; /* ... past STORE_MSG_MAX: the watch ends */
	struct refused refused[REFUSED_MAX];
	unsigned int nr_refused;
};

static void emit(struct watcher *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void emit(struct watcher *w, const char *fmt, ...)
{
	char line[16384];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(line) - 1) {
		/* Values are bounded before this (STORE_VALUE_MAX): said,
		 * should one get here all the same. */
		p_err("store: a line of %d bytes for the agent was dropped: %.40s...",
		      n, line);
		return;
	}
	line[n++] = '\n';
	if (write(w->out, line, n) < 0)
		_exit(0); /* the agent is gone */
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static bool was_refused(struct watcher *w, const char *b64key, long long rev)
{
	uint64_t k = fnv1a(b64key);
	unsigned int i;

	for (i = 0; i < w->nr_refused && i < REFUSED_MAX; i++)
		if (w->refused[i].key == k && w->refused[i].rev == rev)
			return true;
	return false;
}

static void refuse(struct watcher *w, const char *b64key, long long rev)
{
	w->refused[w->nr_refused++ % REFUSED_MAX] =
		(struct refused){ fnv1a(b64key), rev };
}

/* A key as text for a line: printable ASCII only. */
static void key_text(const char *b64key, char *out, size_t len)
{
	size_t n = strlen(b64key), i;
	int m;

	if (n / 4 * 3 + 1 > len || n % 4) {
		snprintf(out, len, "(bad key)");
		return;
	}
	m = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)b64key,
			    n);
	if (m < 0) {
		snprintf(out, len, "(bad key)");
		return;
	}
	while (m > 0 && n && b64key[n - 1] == '=') {
		m--;
		n--;
	}
	out[m] = '\0';
	for (i = 0; i < (size_t)m; i++)
		if (out[i] <= ' ' || out[i] > '~')
			out[i] = '?';
}

static long long kv_rev(struct json_object *kv)
{
	struct json_object *r;

	return json_object_object_get_ex(kv, "mod_revision", &r) ?
		       strtoll(json_object_get_string(r), NULL, 10) :
		       0;
}

/* "X KEY BYTES": the entry under KEY is over STORE_VALUE_MAX (BYTES, or
 * 0: more than could be read), once per key and revision. */
static void emit_oversized(struct watcher *w, const char *b64key, long long rev,
			   size_t bytes)
{
	char key[STORE_KEY_MAX + 8];

	if (was_refused(w, b64key, rev))
		return;
	refuse(w, b64key, rev);
	if (strlen(b64key) > (STORE_KEY_MAX + 2) / 3 * 4)
		snprintf(key, sizeof(key), "(a key over %d bytes)",
			 STORE_KEY_MAX);
	else
		key_text(b64key, key, sizeof(key));
	emit(w, "X %s %zu", key, bytes);
}

static void emit_kv(struct watcher *w, struct json_object *kv, bool del)
{
	struct json_object *k, *v;
	const char *val;
	char key[2048];

	if (!json_object_object_get_ex(kv, "key", &k))
		return;
	if (strlen(json_object_get_string(k)) > (STORE_KEY_MAX + 2) / 3 * 4) {
		if (!del)
			emit_oversized(w, json_object_get_string(k), kv_rev(kv),
				       0);
		return;
	}
	key_text(json_object_get_string(k), key, sizeof(key));
	if (del) {
		emit(w, "D %s", key);
		return;
	}
	val = json_object_object_get_ex(kv, "value", &v) ?
		      json_object_get_string(v) :
		      "";
	if (strlen(val) > STORE_VALUE_B64_MAX) {
		emit_oversized(w, json_object_get_string(k), kv_rev(kv),
			       strlen(val) / 4 * 3);
		return;
	}
	emit(w, "P %s %s", key, val);
}

static void range_end(char *prefix_end)
{
	prefix_end[strlen(prefix_end) - 1]++;
}

/* One entry of a listing, read on its own with a cap. */
static int list_one(struct watcher *w, const struct store_opts *o,
		    const char *base, const char *token, const char *b64key,
		    long long rev, char *err, size_t errlen)
{
	struct json_object *r, *kvs;
	char *body;
	int rc;

	if (was_refused(w, b64key, rev))
		return 0;
	if (strlen(b64key) > (STORE_KEY_MAX + 2) / 3 * 4) {
		emit_oversized(w, b64key, rev, 0);
		return 0;
	}
	if (asprintf(&body, "{\"key\":\"%s\",\"revision\":\"%lld\"}", b64key,
		     w->revision) < 0)
		return -ENOMEM;
	rc = post_max(o, base, "/v3/kv/range", token, body, STORE_GET_MAX, &r,
		      err, errlen);
	free(body);
	if (rc == -EFBIG) {
		emit_oversized(w, b64key, rev, 0);
		return 0;
	}
	if (rc)
		return rc;
	if (json_object_object_get_ex(r, "kvs", &kvs) &&
	    json_object_is_type(kvs, json_type_array) &&
	    json_object_array_length(kvs) == 1)
		emit_kv(w, json_object_array_get_idx(kvs, 0), false);
	json_object_put(r);
	return 0;
}

/* The key after @b64key in etcd's order (the key and a NUL byte). */
static char *key_after(const char *b64key)
{
	size_t n = strlen(b64key);
	unsigned char *raw = malloc(n / 4 * 3 + 2);
	char *out;
	int m;

	if (!raw || n % 4)
		goto bad;
	m = EVP_DecodeBlock(raw, (const unsigned char *)b64key, n);
	if (m < 0)
		goto bad;
	while (m > 0 && n && b64key[n - 1] == '=') {
		m--;
		n--;
	}
	raw[m++] = '\0';
	out = malloc((m + 2) / 3 * 4 + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, raw, m);
	free(raw);
	return out;
bad:
	free(raw);
	return NULL;
}

/*
 * The listing: the prefix's keys a page at a time (keys only, so a page
 * is small whatever the values), all at the revision of the first page,
 * then each value on its own (list_one()).  A page past STORE_PAGE_MAX
 * (huge keys) is read again one key at a time.
 */
static int op_list(const struct store_opts *o, const char *base,
		   const char *token, void *arg, char *err, size_t errlen)
{
	struct watcher *w = arg;
	struct json_object *r, *h, *rev, *kvs, *more, *k;
	char *cursor, *body, *next, e[512], end[256];
	size_t i, n, limit = STORE_PAGE_KEYS;
	int rc = 0;

	snprintf(end, sizeof(end), "%s", AGENT_STORE_PREFIX);
	range_end(end);
	b64(end, strlen(end), e);
	cursor = malloc(512);
	if (!cursor)
		return -ENOMEM;
	b64(AGENT_STORE_PREFIX, strlen(AGENT_STORE_PREFIX), cursor);
	w->revision = 0;
	for (;;) {
		char revs[48] = "";

		if (w->revision)
			snprintf(revs, sizeof(revs), ",\"revision\":\"%lld\"",
				 w->revision);
		if (asprintf(
			    &body,
			    "{\"key\":\"%s\",\"range_end\":\"%s\",\"keys_only\":true,\"limit\":\"%zu\"%s}",
			    cursor, e, limit, revs) < 0) {
			rc = -ENOMEM;
			break;
		}
		rc = post_max(o, base, "/v3/kv/range", token, body,
			      limit > 1 ? STORE_PAGE_MAX : STORE_ONE_KEY_MAX,
			      &r, err, errlen);
		free(body);
		if (rc == -EFBIG && limit > 1) {
			limit = 1;
			continue;
		}
		if (rc)
			break;
		if (!w->revision) {
			if (json_object_object_get_ex(r, "header", &h) &&
			    json_object_object_get_ex(h, "revision", &rev))
				w->revision = strtoll(
					json_object_get_string(rev), NULL, 10);
			emit(w, "B");
		}
		n = json_object_object_get_ex(r, "kvs", &kvs) &&
				    json_object_is_type(kvs, json_type_array) ?
			    json_object_array_length(kvs) :
			    0;
		next = NULL;
		for (i = 0; !rc && i < n; i++) {
			struct json_object *kv =
				json_object_array_get_idx(kvs, i);

			if (!json_object_object_get_ex(kv, "key", &k))
				continue;
			rc = list_one(w, o, base, token,
				      json_object_get_string(k), kv_rev(kv),
				      err, errlen);
			if (i == n - 1)
				next = key_after(json_object_get_string(k));
		}
		more = NULL;
		json_object_object_get_ex(r, "more", &more);
		if (rc || !n || !more || !json_object_get_boolean(more) ||
		    !next) {
			json_object_put(r);
			free(next);
			break;
		}
		json_object_put(r);
		free(cursor);
		cursor = next;
		limit = STORE_PAGE_KEYS;
	}
	free(cursor);
	if (!rc && w->revision)
		emit(w, "E");
	return rc;
}

static void on_watch_msg(struct watcher *w, struct json_object *m)
{
	struct json_object *res, *evs, *ev, *t, *kv, *created;
	size_t i;

	if (!json_object_object_get_ex(m, "result", &res))
		return;
	if (json_object_object_get_ex(res, "created", &created) &&
	    json_object_get_boolean(created) && !w->created) {
		w->created = true;
		emit(w, "S up watching %s", AGENT_STORE_PREFIX);
	}
	if (!json_object_object_get_ex(res, "events", &evs) ||
	    !json_object_is_type(evs, json_type_array))
		return;
	for (i = 0; i < json_object_array_length(evs); i++) {
		ev = json_object_array_get_idx(evs, i);
		if (!json_object_object_get_ex(ev, "kv", &kv))
			continue;
		/* PUT is the enum's zero: the gateway leaves it out. */
		emit_kv(w, kv,
			json_object_object_get_ex(ev, "type", &t) &&
				!strcmp(json_object_get_string(t), "DELETE"));
	}
}

static size_t on_watch(char *d, size_t sz, size_t n, void *arg)
{
	struct watcher *w = arg;
	size_t len = sz * n, off = 0;
	struct json_object *m;

	/* A message is held until it is whole: never past STORE_MSG_MAX.
	 * A longer one (an oversized value, a burst) ends the watch, and
	 * a listing, whose values are read one by one with a cap, takes
	 * its place. */
	w->msg_bytes += len;
	if (w->msg_bytes > STORE_MSG_MAX) {
		w->msg_over = true;
		return 0;
	}
	/* The gateway streams one JSON object per message. */
	while (off < len) {
		m = json_tokener_parse_ex(w->tok, d + off, len - off);
		if (json_tokener_get_error(w->tok) == json_tokener_continue)
			break;
		if (!m) {
			json_tokener_reset(w->tok);
			break;
		}
		off += w->tok->char_offset;
		json_tokener_reset(w->tok);
		w->msg_bytes = len - off;
		on_watch_msg(w, m);
		json_object_put(m);
		while (off < len &&
		       (d[off] == '\n' || d[off] == '\r' || d[off] == ' '))
			off++;
	}
	return len;
}

static int op_watch(const struct store_opts *o, const char *base,
		    const char *token, void *arg, char *err, size_t errlen)
{
	struct watcher *w = arg;
	struct curl_slist *h = NULL;
	char url[1024], auth[1200], body[2048], k[512], e[512], end[256];
	long code = 0;
	CURLcode rc;
	CURL *c;

	c = cdl.easy_init();
	if (!c)
		return -ENOMEM;
	snprintf(end, sizeof(end), "%s", AGENT_STORE_PREFIX);
	range_end(end);
	b64(AGENT_STORE_PREFIX, strlen(AGENT_STORE_PREFIX), k);
	b64(end, strlen(end), e);
	snprintf(
		body, sizeof(body),
		"{\"create_request\":{\"key\":\"%s\",\"range_end\":\"%s\",\"start_revision\":\"%lld\"}}",
		k, e, w->revision + 1);
	snprintf(url, sizeof(url), "%s/v3/watch", base);
	cdl.easy_setopt(c, CURLOPT_URL, url);
	setup_tls(c, o);
	cdl.easy_setopt(c, CURLOPT_POSTFIELDS, body);
	cdl.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)STORE_TIMEOUT_S);
	cdl.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_watch);
	cdl.easy_setopt(c, CURLOPT_WRITEDATA, w);
	h = cdl.slist_append(h, "Content-Type: application/json");
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: %s", token);
		h = cdl.slist_append(h, auth);
	}
	cdl.easy_setopt(c, CURLOPT_HTTPHEADER, h);
	w->created = false;
	w->msg_bytes = 0;
	w->msg_over = false;
	json_tokener_reset(w->tok);
	rc = cdl.easy_perform(c); /* until the stream ends */
	cdl.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	snprintf(err, errlen, "%s/v3/watch: %s (HTTP %ld)", base,
		 rc == CURLE_OK ? "the stream ended" : cdl.easy_strerror(rc),
		 code);
	cdl.slist_free_all(h);
	cdl.easy_cleanup(c);
	if (w->msg_over)
		return -EFBIG;
	return w->created ? -EAGAIN : -EIO;
}

static void etcd_watch(const struct store_opts *o, int out)
{
	static struct watcher w;
	char err[600];
	int backoff = 250, rc;

	w = (struct watcher){ .o = o, .out = out };
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		_exit(0);
	/* Everything it needs from the file system, as root, then root
	 * goes: its credentials in memory, libcurl's and OpenSSL's set-up
	 * done (docs/design.md, "The store watcher"). */
	if (curl_dl_open())
		_exit(1);
	cdl.global_init(CURL_GLOBAL_DEFAULT);
	if (creds_load(o))
		_exit(1);
	keep = cdl.easy_init();
	w.tok = json_tokener_new();
	if (!keep || !w.tok ||
	    store_confine(o->run_as ? o->run_as : ALPNSTEER_DEFAULT_USER))
		_exit(1);
	for (;;) {
		err[0] = '\0';
		rc = with_store(o, op_list, &w, err, sizeof(err));
		if (!rc)
			rc = with_store(o, op_watch, &w, err, sizeof(err));
		if (rc == -EFBIG) {
			/* An oversized watch message: list again from
			 * here (a pause bounds a flood's cost). */
			usleep(100 * 1000);
			backoff = 250;
			continue;
		}
		if (rc == -EAGAIN)
			backoff = 250; /* it worked for a while */
		emit(&w, "S down %s; again in %d ms", err, backoff);
		usleep(backoff * 1000);
		backoff = backoff * 2 > STORE_BACKOFF_MAX_MS ?
				  STORE_BACKOFF_MAX_MS :
				  backoff * 2;
	}
}

const struct store_ops store_etcd = {
	.scheme = "https",
	.name = "etcd",
	.put = etcd_put,
	.del = etcd_del,
	.watch = etcd_watch,
};

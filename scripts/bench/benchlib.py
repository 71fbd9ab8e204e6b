#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Parsing and reporting for scripts/bench/bench.sh (standard library only).

  benchlib.py wrk FILE            wrk's output -> {"rps", "p99_ms", "bytes_per_s", "errors"}
  benchlib.py curl FILE BYTES     curl -w '%{http_code} %{size_upload} %{time_total}' lines
  benchlib.py kernel DIR "ATTACH_MS..." "DETACH_MS..."   -> kernel.json on stdout
  benchlib.py report DIR PNG      results.jsonl + kernel.json -> results.json, results.md, PNG
  benchlib.py cpurun AB_OUT CONFIG REP LOAD N HZ "SNAP0" "SNAP1" NPROG WHO BLOCK   one JSON line (cpu.sh)
  benchlib.py cpureport DIR       cpu-results.jsonl + cpu-kstat-*.json -> cpu-results.json, .md
  benchlib.py perfattr N PERIOD_NS PID... < `perf script` output   where the CPU went (JSON)
"""
import collections, json, os, re, statistics, subprocess, sys

UNITS_T = {'us': 1e-3, 'ms': 1.0, 's': 1e3, 'm': 60e3}
UNITS_B = {'B': 1, 'KB': 1 << 10, 'MB': 1 << 20, 'GB': 1 << 30, 'TB': 1 << 40}


def wrk(path):
    t = open(path).read()
    r = {'rps': None, 'p99_ms': None, 'bytes_per_s': None, 'errors': 0, 'requests': None}
    m = re.search(r'(\d+) requests in', t)
    if m:
        r['requests'] = int(m.group(1))
    m = re.search(r'Requests/sec:\s+([\d.]+)', t)
    if m:
        r['rps'] = float(m.group(1))
    m = re.search(r'^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$', t, re.M)
    if m:
        r['p99_ms'] = float(m.group(1)) * UNITS_T[m.group(2)]
    m = re.search(r'Transfer/sec:\s+([\d.]+)([KMGT]?B)', t)
    if m:
        r['bytes_per_s'] = float(m.group(1)) * UNITS_B[m.group(2)]
    m = re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)', t)
    if m:
        # read errors are how wrk sees "Connection: close" now and then;
        # connect, write and timeout errors are real failures.
        r['errors'] += int(m.group(1)) + int(m.group(3)) + int(m.group(4))
    m = re.search(r'Non-2xx or 3xx responses: (\d+)', t)
    if m:
        r['errors'] += int(m.group(1))
    if r['rps'] is None:
        r['errors'] += 1
    return r


def curl(path, size):
    tot_b = tot_t = 0.0
    errors = 0
    for line in open(path):
        f = line.split()
        if len(f) != 3 or f[0] not in ('200', '204') or int(float(f[1])) != size:
            errors += 1
            continue
        tot_b += float(f[1])
        tot_t += float(f[2])
    return {'rps': None, 'p99_ms': None,
            'bytes_per_s': tot_b / tot_t if tot_t else None, 'errors': errors}


def strace_bpf(path):
    """Seconds spent in bpf() per command, from strace -f -T."""
    out, pending = {}, {}
    if not os.path.exists(path):
        return out
    for line in open(path):
        pid = line.split(None, 1)[0]
        m = re.search(r'bpf\((BPF_\w+)', line)
        if '<unfinished' in line:
            if m:
                pending[pid] = m.group(1)
            continue
        cmd = m.group(1) if m and 'resumed' not in line else pending.pop(pid, None)
        d = re.search(r'<([\d.]+)>\s*$', line)
        if cmd and d:
            out[cmd] = out.get(cmd, 0.0) + float(d.group(1))
    return {k: round(v * 1000, 2) for k, v in sorted(out.items(), key=lambda x: -x[1])}


def progs_by_id(lst):
    return {p['id']: p for p in lst}


def prog_deltas(k):
    """From a kstat snapshot (common.sh): each of alpnsteer's programs'
    runs and run time between the two snapshots, their total, and the
    change of every status -j counter."""
    ids = dict(k['status1'].get('progs', {}))
    # The tc program has no link in status -j: found through its pin.
    if k.get('tc_prog'):
        ids['preclass'] = k['tc_prog']
    p0, p1 = progs_by_id(k['progs0']), progs_by_id(k['progs1'])
    per, tot_ns = {}, 0
    for name, pid in ids.items():
        if not pid or pid not in p1:
            continue
        a, b = p0.get(pid, {}), p1[pid]
        ns = b.get('run_time_ns', 0) - a.get('run_time_ns', 0)
        cnt = b.get('run_cnt', 0) - a.get('run_cnt', 0)
        per[name] = {'run_time_ns': ns, 'run_cnt': cnt,
                     'ns_per_run': round(ns / cnt, 1) if cnt else None}
        tot_ns += ns
    c0, c1 = k['status0']['counters'], k['status1']['counters']
    dc = {n: c1[n] - c0.get(n, 0) for n in c1}
    return per, tot_ns, dc


def kernel(d, att, det):
    att = [int(x) for x in att.split()]
    det = [int(x) for x in det.split()]
    res = {'attach_ms': att, 'detach_ms': det,
           'attach_ms_median': statistics.median(att) if att else None,
           'detach_ms_median': statistics.median(det) if det else None,
           'attach_bpf_ms': strace_bpf(os.path.join(d, 'raw/attach.strace')),
           'detach_bpf_ms': strace_bpf(os.path.join(d, 'raw/detach.strace')),
           'phases': {}}
    for mode, phase in [(m, p) for m in ('plain', 'preclass') for p in ('nc', 'ka', 'dl')]:
        p = os.path.join(d, 'raw/kstat-%s-%s.json' % (mode, phase))
        if not os.path.exists(p):
            continue
        per, tot_ns, dc = prog_deltas(json.load(open(p)))
        w = wrk(os.path.join(d, 'raw/kstat-%s-%s.txt' % (mode, phase)))
        # New connections: wrk's requests (one connection each with
        # Connection: close), or the connections wrk opened otherwise.
        conns = w['requests'] if phase == 'nc' else None
        rel = dc.get('released', 0)
        res['phases'][mode + '-' + phase] = {
            'progs': per, 'bpf_ns_total': tot_ns, 'counters': dc,
            'wrk_rps': w['rps'], 'requests': w['requests'],
            'bpf_ns_per_new_conn': round(tot_ns / conns, 1) if conns else None,
            'bpf_ns_per_request': round(tot_ns / w['requests'], 1) if w['requests'] else None,
            'released_first_pct': round(100.0 * dc.get('released_first', 0) / rel, 2) if rel else None,
        }
    return res


def med(v):
    v = [x for x in v if x is not None]
    if not v:
        return None
    return (statistics.median(v), min(v), max(v))


METRICS = [('ka_rps', 'keep-alive req/s', True), ('ka_p99_ms', 'keep-alive p99 ms', False),
           ('nc_rps', 'new conn/s', True), ('nc_p99_ms', 'new-conn p99 ms', False),
           ('dl_MiBps', 'download MiB/s', True), ('ul_MiBps', 'upload MiB/s', True)]


def fmt(t, digits=0, pct=False):
    if t is None:
        return '—'
    if pct:
        return '%.1f %% (%.1f–%.1f)' % (t[0] * 100, t[1] * 100, t[2] * 100)
    f = '%%.%df' % digits
    return (f + ' (' + f + '–' + f + ')') % t


def report(d, png):
    rows = [json.loads(l) for l in open(os.path.join(d, 'results.jsonl')) if l.strip()]
    machine = json.load(open(os.path.join(d, 'machine.json')))
    kern = json.load(open(os.path.join(d, 'kernel.json'))) if os.path.exists(os.path.join(d, 'kernel.json')) else {}
    configs = []
    for r in rows:
        if r['config'] not in configs:
            configs.append(r['config'])
    direct = {r['rep']: r for r in rows if r['config'] == 'direct' and r.get('verified')}
    agg = {}
    for c in configs:
        rs = [r for r in rows if r['config'] == c]
        ok = [r for r in rs if r.get('verified')]
        a = {'reps': len(rs), 'verified': len(ok),
             'errors': sum(r.get('errors', 0) for r in ok),
             'splitter_cpu_s': med([r.get('splitter_cpu_s') for r in ok])}
        for m, _, _ in METRICS:
            a[m] = med([r[m] for r in ok])
            # ratio to direct of the same repetition
            a[m + '_ratio'] = med([r[m] / direct[r['rep']][m] for r in ok
                                   if r['rep'] in direct and r[m] and direct[r['rep']][m]])
        agg[c] = a
    json.dump({'machine': machine, 'configs': agg, 'runs': rows, 'kernel': kern},
              open(os.path.join(d, 'results.json'), 'w'), indent=1)

    L = []
    L.append('Medians of %d interleaved repetitions, (min–max); ratios to `direct` '
             'are taken per repetition, then summarised the same way.' % machine['reps'])
    L.append('')
    L.append('| configuration | keep-alive req/s | p99 (ms) | new conn/s | p99 (ms) | download MiB/s | upload MiB/s | splitter CPU s |')
    L.append('|---|---|---|---|---|---|---|---|')
    for c in configs:
        a = agg[c]
        L.append('| %s%s | %s | %s | %s | %s | %s | %s | %s |' % (
            c, '' if a['verified'] == a['reps'] else ' (%d/%d verified)' % (a['verified'], a['reps']),
            fmt(a['ka_rps']), fmt(a['ka_p99_ms'], 2), fmt(a['nc_rps']), fmt(a['nc_p99_ms'], 2),
            fmt(a['dl_MiBps']), fmt(a['ul_MiBps']), fmt(a['splitter_cpu_s'], 1)))
    L.append('')
    L.append('| ratio to direct | keep-alive req/s | p99 | new conn/s | p99 | download | upload |')
    L.append('|---|---|---|---|---|---|---|')
    for c in configs:
        a = agg[c]
        L.append('| %s | %s | %s | %s | %s | %s | %s |' % (
            c, fmt(a['ka_rps_ratio'], pct=True), fmt(a['ka_p99_ms_ratio'], pct=True),
            fmt(a['nc_rps_ratio'], pct=True), fmt(a['nc_p99_ms_ratio'], pct=True),
            fmt(a['dl_MiBps_ratio'], pct=True), fmt(a['ul_MiBps_ratio'], pct=True)))
    L.append('')
    if kern:
        L.append('Kernel side (alpnsteer attached, `kernel.bpf_stats_enabled=1`, separate run):')
        L.append('')
        L.append('| mode, load | program | runs | ns/run | BPF ns per request (new conn. for new connections) | released at 1st RTT callback |')
        L.append('|---|---|---|---|---|---|')
        names = {'nc': 'new connections', 'ka': 'keep-alive', 'dl': 'download'}
        names = {m + '-' + k: m + ', ' + v for m in ('plain', 'preclass') for k, v in names.items()}
        for ph, p in kern.get('phases', {}).items():
            first = True
            for name, v in p['progs'].items():
                L.append('| %s | %s | %d | %s | %s | %s |' % (
                    names.get(ph, ph) if first else '', name, v['run_cnt'],
                    v['ns_per_run'] if v['ns_per_run'] is not None else '—',
                    (p['bpf_ns_per_request'] if p['bpf_ns_per_request'] is not None else '—') if first else '',
                    ('%s %% of %d' % (p['released_first_pct'], p['counters'].get('released', 0))
                     if p['released_first_pct'] is not None else '—') if first else ''))
                first = False
        L.append('')
        at, dt = kern.get('attach_ms', []), kern.get('detach_ms', [])
        if at:
            L.append('attach: median %d ms (%d–%d), detach --wait: median %d ms (%d–%d), %d cycles, nothing in flight.' % (
                statistics.median(at), min(at), max(at), statistics.median(dt), min(dt), max(dt), len(at)))
            L.append('Time inside bpf() during one attach, by command (ms): %s.' % (
                ', '.join('%s %s' % kv for kv in list(kern.get('attach_bpf_ms', {}).items())[:4])))
            L.append('')
    L.append('Machine: %d CPUs (%s), Linux %s; %s UTC; load average %s before, %s after.' % (
        machine['cpus'], machine.get('cpu_model', '?'), machine['kernel'], machine['date'],
        machine.get('loadavg_before'), ' '.join(machine.get('loadavg_after', []))))
    md = '\n'.join(L) + '\n'
    open(os.path.join(d, 'results.md'), 'w').write(md)
    sys.stdout.write(md)
    plot(d, configs, agg, png)


def plot(d, configs, agg, png):
    dat = os.path.join(d, 'ratios.dat')
    keys = ['ka_rps', 'nc_rps', 'dl_MiBps', 'ul_MiBps']
    with open(dat, 'w') as f:
        for c in configs:
            if c == 'direct':
                continue
            vals = []
            for k in keys:
                t = agg[c][k + '_ratio'] or (0, 0, 0)
                vals += ['%.4f %.4f %.4f' % (t[0] * 100, t[1] * 100, t[2] * 100)]
            f.write('"%s" %s\n' % (c, ' '.join(vals)))
    gp = '''set terminal pngcairo size 820,400 font ",9"
set output "%s"
set title "Throughput relative to the same nginx with nothing in front (median, min-max bars)"
set ylabel "%% of direct"
set yrange [0:*]
set style data histogram
set style histogram errorbars gap 1 lw 1
set style fill solid 0.8 border -1
set key outside right top vertical
set grid ytics
set xtics rotate by -25
set bmargin 5
set arrow from graph 0, first 100 to graph 1, first 100 nohead dt 2 lc rgb "black"
plot "%s" using 2:3:4:xtic(1) title "keep-alive req/s", \\
     "" using 5:6:7 title "new conn/s", \\
     "" using 8:9:10 title "download", \\
     "" using 11:12:13 title "upload"
''' % (png, dat)
    open(os.path.join(d, 'ratios.gp'), 'w').write(gp)
    subprocess.run(['gnuplot', os.path.join(d, 'ratios.gp')], check=False)


def ab(path):
    t = open(path).read()
    r = {'complete': 0, 'failed': 0, 'non2xx': 0, 'time_s': None}
    for k, pat in (('complete', r'Complete requests:\s+(\d+)'), ('failed', r'Failed requests:\s+(\d+)'),
                   ('non2xx', r'Non-2xx responses:\s+(\d+)')):
        m = re.search(pat, t)
        if m:
            r[k] = int(m.group(1))
    m = re.search(r'Time taken for tests:\s+([\d.]+)', t)
    if m:
        r['time_s'] = float(m.group(1))
    return r


# What cpu.sh counts, in microseconds for the whole run: the machine's busy
# time (/proc/stat, all CPUs), nginx's cgroup, ab's cgroup, the two
# together, the kernel threads, and all of ours (the cgroups and the
# kernel threads).
CPU_METRICS = [('machine', 'whole machine'), ('server', 'nginx cgroup'),
               ('client', 'ab cgroup'), ('cgroups', 'nginx + ab'),
               ('kthreads', 'kernel threads'), ('ours', 'nginx + ab + kernel threads')]


def cpurun(path, config, rep, load, n, hz, s0, s1, nprog=None, who='nginx', block=0):
    a = ab(path)
    s0 = [int(x) for x in s0.split()]
    s1 = [int(x) for x in s1.split()]
    d = [y - x for x, y in zip(s0, s1)]
    hz = int(hz)
    us = {'machine': d[1] * 1e6 / hz, 'server': d[4], 'client': d[5],
          'kthreads': d[6] / 1000.0}
    us['cgroups'] = us['server'] + us['client']
    us['ours'] = us['cgroups'] + us['kthreads']
    conns = a['complete'] or int(n)
    return {'config': config, 'rep': int(rep), 'load': load, 'verified': True,
            'who': who, 'block': int(block),
            'conns': conns, 'errors': a['failed'] + a['non2xx'] + (int(n) - a['complete']),
            'wall_s': d[0] / 1e9, 'ab_s': a['time_s'], 'idle_s': d[2] / hz, 'steal_s': d[3] / hz,
            'loadavg': open('/proc/loadavg').read().split()[:3],
            'sockops_progs_effective': int(nprog) if nprog is not None else None,
            'cpu_us': us, 'us_per_conn': {k: v / conns for k, v in us.items()}}


def cpu_sum(blocks):
    """One run from its blocks: CPU and connections summed."""
    r = dict(blocks[0])
    r['conns'] = sum(b['conns'] for b in blocks)
    r['errors'] = sum(b['errors'] for b in blocks)
    r['cpu_us'] = {m: sum(b['cpu_us'][m] for b in blocks) for m in blocks[0]['cpu_us']}
    r['us_per_conn'] = {m: v / r['conns'] for m, v in r['cpu_us'].items()}
    return r


def cpureport(d):
    rows = [json.loads(l) for l in open(os.path.join(d, 'cpu-results.jsonl')) if l.strip()]
    machine = json.load(open(os.path.join(d, 'cpu-machine.json')))
    runs = collections.OrderedDict()
    for r in rows:
        if r.get('verified'):
            runs.setdefault((r['load'], r['config'], r['rep'], r.get('who', 'nginx')), []).append(r)
    summed = {k: cpu_sum(v) for k, v in runs.items()}
    ok = [r for k, r in summed.items() if k[3] == 'nginx']
    twin = {k[:3]: r for k, r in summed.items() if k[3] == 'twin'}
    loads = []
    configs = []
    for r in ok:
        if r['load'] not in loads:
            loads.append(r['load'])
        if r['config'] not in configs:
            configs.append(r['config'])
    direct = {(r['load'], r['rep']): r for r in ok if r['config'] == 'direct'}
    agg = {}
    for ld in loads:
        for c in configs:
            rs = [r for r in ok if r['load'] == ld and r['config'] == c]
            a = {'runs': len(rs), 'errors': sum(r['errors'] for r in rs),
                 'conns': rs[0]['conns'] if rs else None}
            for m, _ in CPU_METRICS:
                a[m] = med([r['us_per_conn'][m] for r in rs])
                # paired: minus direct of the same repetition
                a[m + '_added'] = med([r['us_per_conn'][m] - direct[(ld, r['rep'])]['us_per_conn'][m]
                                       for r in rs if (ld, r['rep']) in direct])
            agg[ld + '/' + c] = a
    # nginx minus its never-attached twin, blocks interleaved in the
    # same configuration and repetition
    for ld in loads:
        for c in configs:
            rs = [r for r in ok if r['load'] == ld and r['config'] == c
                  and (ld, c, r['rep']) in twin]
            a = agg.get(ld + '/' + c)
            if a is None:
                continue
            for m, _ in CPU_METRICS:
                a[m + '_vs_twin'] = med([r['us_per_conn'][m] - twin[(ld, c, r['rep'])]['us_per_conn'][m]
                                         for r in rs])
    # BASELINE: the new binary against the older one, both attached, paired
    # by repetition like everything against direct
    pairs = {}
    has_base = 'attached-baseline' in configs
    for ld in loads if has_base else []:
        for a_, b_ in (('attached', 'direct'), ('attached-baseline', 'direct'),
                       ('attached', 'attached-baseline')):
            A = {r['rep']: r for r in ok if r['load'] == ld and r['config'] == a_}
            B = {r['rep']: r for r in ok if r['load'] == ld and r['config'] == b_}
            reps = sorted(set(A) & set(B))
            if not reps:
                continue
            pairs['%s/%s - %s' % (ld, a_, b_)] = {
                'reps': len(reps),
                'us_per_conn': {m: med([A[k]['us_per_conn'][m] - B[k]['us_per_conn'][m] for k in reps])
                                for m, _ in CPU_METRICS}}
    # One TLS handshake's server CPU, measured the same way (direct).
    hs = agg.get('tls/direct', {}).get('server')
    hs_us = hs[0] if hs else None

    def bpf_of(pre):
        out = {}
        for ld in loads:
            p = os.path.join(d, 'raw/%s-%s.json' % (pre, ld))
            if not os.path.exists(p):
                continue
            per, tot_ns, dc = prog_deltas(json.load(open(p)))
            conns = ab(os.path.join(d, 'raw/%s-%s.txt' % (pre, ld)))['complete']
            out[ld] = {'conns': conns, 'progs': per, 'bpf_ns_total': tot_ns, 'counters': dc,
                       'bpf_ns_per_conn': round(tot_ns / conns, 1) if conns else None,
                       'runs_per_conn': {k: round(v['run_cnt'] / conns, 2) for k, v in per.items()} if conns else {}}
        return out
    bpf = bpf_of('cpu-kstat')
    bpf_base = bpf_of('cpu-kstat-baseline')
    json.dump({'machine': machine, 'agg': agg, 'tls_handshake_server_us': hs_us,
               'bpf': bpf, 'bpf_baseline': bpf_base, 'baseline_pairs': pairs, 'runs': rows},
              open(os.path.join(d, 'cpu-results.json'), 'w'), indent=1)

    def f1(t):
        return '—' if t is None else '%.1f (%.1f – %.1f)' % t

    def pct(t):
        return '—' if t is None or not hs_us else '%.2f %%' % (100.0 * t[0] / hs_us)

    L = []
    L.append('CPU per connection in µs: median of %d interleaved repetitions (min – max); '
             '"added" is each repetition minus direct of the same repetition. '
             'Plain: %d HTTP/1.0 connections; TLS: %d TLS 1.3 connections (ECDSA P-256, '
             'full handshake each); ab -c %d.' % (machine['reps'], machine['plain_n'],
                                                  machine['tls_n'], machine['conc']))
    L.append('')
    L.append('| load | configuration | ' + ' | '.join(n for _, n in CPU_METRICS) + ' |')
    L.append('|---|---|' + '---|' * len(CPU_METRICS))
    for ld in loads:
        for c in configs:
            a = agg.get(ld + '/' + c)
            if not a or not a['runs']:
                continue
            L.append('| %s | %s%s | %s |' % (ld, c, ' (%d errors)' % a['errors'] if a['errors'] else '',
                                             ' | '.join(f1(a[m]) for m, _ in CPU_METRICS)))
    L.append('')
    L.append('Added CPU per connection against direct (µs; share of one TLS handshake\'s '
             'server CPU, %s µs in nginx\'s cgroup, direct):' % ('%.0f' % hs_us if hs_us else '?'))
    L.append('')
    L.append('| load | configuration | ' + ' | '.join(n for _, n in CPU_METRICS) + ' |')
    L.append('|---|---|' + '---|' * len(CPU_METRICS))
    for ld in loads:
        for c in configs:
            if c == 'direct':
                continue
            a = agg.get(ld + '/' + c)
            if not a or not a['runs']:
                continue
            L.append('| %s | %s | %s |' % (ld, c, ' | '.join(
                '%s, %s' % (f1(a[m + '_added']), pct(a[m + '_added'])) for m, _ in CPU_METRICS)))
    L.append('')
    if twin:
        L.append('Within each run: nginx minus its twin (same configuration, never attached; '
                 'blocks nginx, twin, twin, nginx), µs per connection, and share of one TLS '
                 'handshake. In direct and detached this is the null difference:')
        L.append('')
        L.append('| load | configuration | ' + ' | '.join(n for _, n in CPU_METRICS) + ' |')
        L.append('|---|---|' + '---|' * len(CPU_METRICS))
        for ld in loads:
            for c in configs:
                a = agg.get(ld + '/' + c)
                if not a or not a['runs'] or a.get('server_vs_twin') is None:
                    continue
                L.append('| %s | %s | %s |' % (ld, c, ' | '.join(
                    '%s, %s' % (f1(a[m + '_vs_twin']), pct(a[m + '_vs_twin'])) for m, _ in CPU_METRICS)))
        L.append('')
    if pairs:
        L.append('Before and after (BASELINE %s): each repetition\'s difference, µs per connection, '
                 'median (min – max):' % machine.get('baseline', '?'))
        L.append('')
        L.append('| load | difference | ' + ' | '.join(n for _, n in CPU_METRICS) + ' |')
        L.append('|---|---|' + '---|' * len(CPU_METRICS))
        for k, v in pairs.items():
            ld, what = k.split('/', 1)
            L.append('| %s | %s | %s |' % (ld, what, ' | '.join(f1(v['us_per_conn'][m]) for m, _ in CPU_METRICS)))
        L.append('')
    for title, bb in (('attached', bpf), ('attached-baseline', bpf_base)):
        if not bb:
            continue
        L.append('BPF programs, %s, `kernel.bpf_stats_enabled=1` (separate run):' % title)
        L.append('')
        L.append('| load | program | runs per connection | ns per run | BPF ns per connection |')
        L.append('|---|---|---|---|---|')
        for ld, b in bb.items():
            first = True
            for name, v in b['progs'].items():
                L.append('| %s | %s | %s | %s | %s |' % (
                    ld if first else '', name, b['runs_per_conn'].get(name),
                    v['ns_per_run'] if v['ns_per_run'] is not None else '—',
                    b['bpf_ns_per_conn'] if first else ''))
                first = False
        L.append('')
    pa = {c: os.path.join(d, 'cpu-perf-%s.json' % c) for c in ('direct', 'attached')}
    if all(os.path.exists(p) for p in pa.values()):
        pd = {c: json.load(open(p)) for c, p in pa.items()}
        cats = list(pd['attached']['by_category_us_per_conn'])
        L.append('Profile (`perf record -a -g`, cpu-clock every 100 µs of CPU, %d plain connections '
                 'each; samples of nginx, ab and the kernel threads), µs per connection:' % pd['attached']['conns'])
        L.append('')
        L.append('| where | direct | attached | added |')
        L.append('|---|---|---|---|')
        L.append('| all | %s | %s | %.2f |' % (pd['direct']['us_per_conn_total'], pd['attached']['us_per_conn_total'],
                                             pd['attached']['us_per_conn_total'] - pd['direct']['us_per_conn_total']))
        for cat in cats:
            a_, d_ = pd['attached']['by_category_us_per_conn'].get(cat, 0), pd['direct']['by_category_us_per_conn'].get(cat, 0)
            L.append('| %s | %s | %s | %.2f |' % (cat, d_, a_, a_ - d_))
        L.append('')
    la = sorted(float(r['loadavg'][0]) for r in ok)
    L.append('Machine: %d CPUs (%s), Linux %s; %s UTC; load average %s before, %s after; '
             '1-minute load average over the runs %s – %s (median %s).' % (
                 machine['cpus'], machine.get('cpu_model', '?'), machine['kernel'], machine['date'],
                 machine.get('loadavg_before'), ' '.join(machine.get('loadavg_after', [])),
                 la[0] if la else '?', la[-1] if la else '?', statistics.median(la) if la else '?'))
    md = '\n'.join(L) + '\n'
    open(os.path.join(d, 'cpu-results.md'), 'w').write(md)
    sys.stdout.write(md)


# Where a sampled stack's CPU goes: the first frame from the leaf up that
# names one of these.  The programs' own map operations and helpers run
# under their bpf_prog_* frame and count as the program's; what the kernel
# does around them (the sockmap's psock, the tcp_bpf proto) has its own
# lines.
PERF_CATS = [
    ('psock creation (sock_hash_update: sk_psock_init, sock_map_link, tcp_bpf_update_proto)',
     re.compile(r'^(sk_psock_init|sock_map_link|sock_hash_update_common|bpf_sock_hash_update|'
                r'tcp_bpf_update_proto|sock_map_init_proto|sk_psock_start_verdict)$')),
    ('psock release and teardown (sock_hash_delete_elem, sk_psock_drop, sk_psock_destroy work)',
     re.compile(r'^(sk_psock_destroy|sk_psock_drop|sk_psock_stop|sock_hash_delete_elem|sock_map_unref|'
                r'sock_map_del_link|sk_psock_link_pop|sock_map_remove_links|sk_psock_stop_verdict|'
                r'tcp_bpf_close|sock_map_close|sk_psock_zap_ingress|__sk_psock_purge_ingress_msg)$')),
    ('sock_ops program', re.compile(r'^bpf_prog_\w+_alpnsteer_sockops$')),
    ('verdict program', re.compile(r'^bpf_prog_\w+_alpnsteer_verdict$')),
    ('other BPF programs (other attachments on the host)', re.compile(r'^bpf_prog_')),
    ('sock_ops dispatch (__cgroup_bpf_run_filter_sock_ops outside the program)',
     re.compile(r'^(__cgroup_bpf_run_filter_sock_ops|bpf_prog_run_array_cg|bpf_skops_\w+)$')),
    ('verdict dispatch (sk_psock_verdict_data_ready, tcp_read_skb, sk_psock_verdict_recv)',
     re.compile(r'^(sk_psock_verdict_data_ready|sk_psock_verdict_recv|sk_psock_verdict_apply|'
                r'tcp_read_skb|bpf_prog_run_pin_on_cpu|sk_psock_skb_ingress\w*)$')),
    ('tcp_bpf proto while in the map (tcp_bpf_recvmsg_parser, tcp_bpf_sendmsg, ...)',
     re.compile(r'^(tcp_bpf_\w+)$')),
]


def perfattr(n, period_ns, pids, lines):
    """perf script output (perf record -a -g, fixed period): the samples
    of the webserver's PIDS, of ab and of the kernel threads (kworker,
    ksoftirqd, rcu), by PERF_CATS, in µs per connection.  (perf 6.1's
    script prints no cgroup: processes are told by PID and name.)"""
    n, period_us = int(n), int(period_ns) / 1000.0
    tot = collections.Counter()
    cat = collections.Counter()
    leaf = collections.Counter()
    head, frames = None, []

    def flush():
        if head is None:
            return
        m = re.match(r'^\s*(.+?)\s+(\d+)\s+\[', head)
        if not m:
            return
        comm, tid = m.group(1), m.group(2)
        who = None
        if tid in pids:
            who = 'nginx'
        elif comm == 'ab':
            who = 'ab'
        elif re.match(r'^(kworker|ksoftirqd|rcu)', comm):
            who = 'kthreads'
        if who is None:
            return
        tot[who] += 1
        for f in frames:
            for name, rx in PERF_CATS:
                if rx.match(f):
                    cat[name] += 1
                    leaf[(name, frames[0])] += 1
                    return
        cat['rest'] += 1

    for line in lines:
        if not line.strip():
            continue
        if not line[0].isspace():
            flush()
            head, frames = line, []
            continue
        f = line.split()
        if len(f) >= 2:
            frames.append(re.sub(r'\+0x[0-9a-f]+$', '', f[1]))
    flush()
    k = lambda v: round(v * period_us / n, 2)
    return {'conns': n, 'period_us': period_us, 'samples': dict(tot),
            'us_per_conn': {w: k(v) for w, v in tot.items()},
            'us_per_conn_total': k(sum(tot.values())),
            'by_category_us_per_conn': {c: k(v) for c, v in cat.most_common()},
            'top_leaves': [[c, f, k(v)] for (c, f), v in leaf.most_common(25)]}


if __name__ == '__main__':
    cmd = sys.argv[1]
    if cmd == 'wrk':
        print(json.dumps(wrk(sys.argv[2])))
    elif cmd == 'curl':
        print(json.dumps(curl(sys.argv[2], int(sys.argv[3]))))
    elif cmd == 'kernel':
        print(json.dumps(kernel(sys.argv[2], sys.argv[3], sys.argv[4]), indent=1))
    elif cmd == 'report':
        report(sys.argv[2], sys.argv[3])
    elif cmd == 'cpurun':
        print(json.dumps(cpurun(*sys.argv[2:13])))
    elif cmd == 'cpureport':
        cpureport(sys.argv[2])
    elif cmd == 'perfattr':
        print(json.dumps(perfattr(sys.argv[2], sys.argv[3], sys.argv[4:], sys.stdin), indent=1))
    else:
        sys.exit(__doc__)

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Parsing and reporting for scripts/bench/bench.sh (standard library only).

  benchlib.py wrk FILE            wrk's output -> {"rps", "p99_ms", "bytes_per_s", "errors"}
  benchlib.py curl FILE BYTES     curl -w '%{http_code} %{size_upload} %{time_total}' lines
  benchlib.py kernel DIR "ATTACH_MS..." "DETACH_MS..."   -> kernel.json on stdout
  benchlib.py report DIR PNG      results.jsonl + kernel.json -> results.json, results.md, PNG
"""
import json, os, re, statistics, subprocess, sys

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
        k = json.load(open(p))
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
    else:
        sys.exit(__doc__)

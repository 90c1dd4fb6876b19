"""What cutting outputs costs a 1.5 history page (JSON text).

A page of 10,000 rows (50 graph tasks x 200 nodes, each with a summary of
about 120 characters) as the database writes it. Measured, best of 7:

- **check**: ``views.history_page`` on a page with nothing to cut (the
  text is passed on untouched: the database's ``widest``, the longest
  output's JSON text, is within the limit);
- **cut**: the same page with one 50,000-character output (decoded, cut,
  encoded again);
- **baseline**: decoding and encoding the page (what cutting every page
  in Python would cost at least).
"""

import json
import platform
import time

from drydockd.manager import views

LIMIT = 16384


def page(long_output=False):
    """The page as the database hands it to the manager: the text and
    the length of its longest output's JSON text."""
    rows = [['g%02d' % (i % 50), str(i // 50), 'ready',
             '2026-11-22T10:00:01.000000Z', '2026-11-22T10:00:02.000000Z',
             {}, {'exit_code': 0, 'stdout_tail': 'ok ' * 40}]
            for i in range(10000)]
    if long_output:
        rows[-1][6] = {'stdout_tail': 'x' * 50000}
    return {'rows_json': json.dumps(rows), 'widest': max(
        len(json.dumps(value)) for row in rows for value in row[5:])}


def best(run, times=7):
    out = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        out.append(time.perf_counter() - started)
    return min(out) * 1000


def main():
    clean, long_one = page(), page(True)
    text = clean['rows_json']
    figures = {
        'check': best(lambda: views.history_page(dict(clean), LIMIT)),
        'cut': best(lambda: views.history_page(dict(long_one), LIMIT)),
        'baseline': best(lambda: json.dumps(json.loads(text))),
    }
    print('page: %d rows, %.1f MB; python %s' % (
        10000, len(text) / 1e6, platform.python_version()))
    for name, ms in figures.items():
        print('%-9s %6.1f ms' % (name, ms))


if __name__ == '__main__':
    main()

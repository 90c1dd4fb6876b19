"""Outputs returned over the API are bounded, and say when they were cut.

Executors report what graph tasks printed (``summary``: ``stdout_tail``,
``stderr_tail``), errors (``custom.error_msg``) and status messages; a
command on a node, or a report from an executor that is not drydock's,
decides how long those are. The API hands them back to any caller, so
each is cut to ``[manager] max_output_chars`` on the way out (the
database keeps what was reported):

- a string longer than what is left is cut and ends with
  :data:`MARK`;
- a mapping or list whose content is over the limit keeps its first
  items up to it, and a cut mapping gets ``"truncated": true``;
- every value counts its characters (keys included), a number,
  boolean or null those of its JSON text, so a mapping of many small
  items is bounded too, and no value counts more characters than its
  JSON text has (which lets the manager pass on a page of JSON text
  whose longest value is within the limit without decoding it).
"""

MARK = ' [truncated]'


def text(value, limit):
    """``value`` (a string or None) cut to ``limit`` characters."""
    if not isinstance(value, str) or len(value) <= limit:
        return value
    return value[:max(limit - len(MARK), 0)] + MARK


def bound(value, limit):
    """``value`` (JSON data) within ``limit`` characters; unchanged (the
    same object) when it fits."""
    if _size(value, limit) <= limit:
        return value
    out, _ = _cut(value, limit)
    if isinstance(out, dict):
        out['truncated'] = True
    return out


def _size(value, limit):
    """Characters ``value`` counts, stopping once past ``limit``."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        total = 0
        for key, item in value.items():
            total += len(str(key)) + _size(item, limit - total)
            if total > limit:
                break
        return total
    if isinstance(value, list):
        total = 0
        for item in value:
            total += _size(item, limit - total)
            if total > limit:
                break
        return total
    return _scalar(value)


def _scalar(value):
    """Characters of a number's, boolean's or null's JSON text (``str``
    has as many: ``True``/``true``, ``None``/``null``)."""
    return len(str(value))


def _cut(value, left):
    """``(value within left, characters it counts)``."""
    if isinstance(value, str):
        cut = text(value, max(left, 0))
        return cut, len(cut)
    if isinstance(value, dict):
        out, used = {}, 0
        for key, item in value.items():
            room = left - used - len(str(key))
            cut, size = _cut(item, room)
            if room <= 0 or size > room:
                break
            out[key] = cut
            used += len(str(key)) + size
        return out, used
    if isinstance(value, list):
        out, used = [], 0
        for item in value:
            cut, size = _cut(item, left - used)
            if size > left - used:
                break
            out.append(cut)
            used += size
        return out, used
    return value, _scalar(value)

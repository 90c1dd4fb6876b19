"""Credentials inside a design reference, masked wherever it is shown.

A ``design_ref`` may carry what its server needs: ``user:password@`` (or a
token as the user), or a signed URL's query (``?token=``,
``X-Amz-Signature=``, ``sig=``, ``api_key=``). The real reference is used
only to fetch the design, in memory; everything that keeps or shows one
(the task and node records, API replies, messages, logs, errors) holds
:func:`mask_ref`'s form instead:

- the whole userinfo becomes ``***@``;
- the value of every query or fragment parameter whose name looks like a
  credential becomes ``***``;
- the rest (scheme, host, port, path, other parameters) is kept as
  written, so the masked reference still says where the design came from.

A credential written into the path itself cannot be told from a path, and
is not masked (docs/security.md says to use userinfo or a parameter).
"""

import re
import urllib.parse

MASK = '***'
# Parameter names holding any of these are credentials...
_WITHIN = ('token', 'passw', 'passwd', 'secret', 'signature', 'credential',
           'apikey', 'api_key', 'auth', 'session', 'private')
# ...and so are names with one of these as a whole word (x-amz-key, sig).
_WORDS = frozenset(('key', 'sig', 'pass', 'pwd', 'code', 'jwt', 'sas',
                    'cookie', 'otp'))
_PARAM = re.compile(r'([^&;=]*)(=?)([^&;]*)')


def secret_name(name):
    """Whether a query parameter called ``name`` holds a credential."""
    lowered = name.lower()
    return any(word in lowered for word in _WITHIN) or \
        bool(_WORDS.intersection(re.split(r'[^a-z0-9]+', lowered)))


def mask_ref(ref):
    """``ref`` with its credentials replaced by ``***`` (see above)."""
    if not isinstance(ref, str):
        return ref
    scheme, sep, rest = ref.partition('://')
    if not sep:
        return _mask_params(ref) if '?' in ref else ref
    end = len(rest)
    for stop in '/?#':
        at = rest.find(stop)
        if at != -1:
            end = min(end, at)
    netloc, tail = rest[:end], rest[end:]
    if '@' in netloc:
        netloc = MASK + '@' + netloc.rpartition('@')[2]
    return scheme + sep + netloc + _mask_params(tail)


def _mask_params(tail):
    """Mask credential parameters in ``path?query#fragment``."""
    path, qmark, rest = tail.partition('?')
    if not qmark:
        path, hashmark, fragment = tail.partition('#')
        return path + hashmark + _mask_pairs(fragment) if hashmark else tail
    query, hashmark, fragment = rest.partition('#')
    return path + qmark + _mask_pairs(query) + hashmark + \
        (_mask_pairs(fragment) if hashmark else '')


def _mask_pairs(text):
    def one(match):
        name, equals, value = match.groups()
        if equals and value and secret_name(_unquote(name)):
            return name + equals + MASK
        return match.group(0)
    return _PARAM.sub(one, text)


def _unquote(name):
    return urllib.parse.unquote_plus(name)

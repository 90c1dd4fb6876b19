"""Bounded decompression for kombu.

kombu inflates a compressed body (``compression`` header) completely
before any consumer sees it, so a 300 KB zlib "bomb" becomes hundreds of
megabytes in memory. ``install`` replaces kombu's decoders with ones that
stop past the work plane's size limit; kombu then reports a decode error
and the consumer dead-letters the original, still-compressed bytes.
"""

import bz2
import lzma
import zlib

from kombu import compression

# Formats whose decoders cannot be bounded here are refused outright.
_REFUSED = ('application/x-brotli', 'application/zstd')
_installed = {}


class BodyTooLarge(ValueError):
    pass


def _bounded(make_decompressor, limit):
    def decode(body):
        decompressor = make_decompressor()
        out = decompressor.decompress(body, limit + 1)
        if len(out) > limit:
            raise BodyTooLarge('decompressed body exceeds %d bytes' % limit)
        if not decompressor.eof:
            # A cut stream can still inflate to a whole, valid-looking
            # body; what was cut (its checksum at least) is refused.
            raise ValueError('compressed body is truncated')
        return out
    return decode


def _refuse(content_type):
    def decode(body):
        raise ValueError('compression %s is not accepted' % content_type)
    return decode


def install(limit):
    """Bound every kombu decoder in this process to ``limit`` bytes."""
    if _installed.get('limit') == limit:
        return
    decoders = {
        # 32 + MAX_WBITS accepts zlib (what kombu's "gzip" really is) and
        # real gzip headers alike.
        'application/x-gzip': _bounded(
            lambda: zlib.decompressobj(32 + zlib.MAX_WBITS), limit),
        'application/x-bz2': _bounded(bz2.BZ2Decompressor, limit),
        'application/x-lzma': _bounded(lzma.LZMADecompressor, limit),
    }
    decoders.update((t, _refuse(t)) for t in _REFUSED)
    for content_type, decoder in decoders.items():
        try:
            encoder, _ = compression.get_encoder(content_type)
        except KeyError:
            encoder = None
        compression.register(encoder, decoder, content_type)
    _installed['limit'] = limit


def peek(body, content_type, size):
    """The first ``size`` bytes ``body`` decompresses to (``body`` itself
    when uncompressed; empty when it cannot be read): enough to find
    whose task a refused message was for."""
    makers = {'application/x-gzip':
              lambda: zlib.decompressobj(32 + zlib.MAX_WBITS),
              'application/x-bz2': bz2.BZ2Decompressor,
              'application/x-lzma': lzma.LZMADecompressor}
    if isinstance(body, str):
        body = body.encode('utf-8', 'surrogatepass')
    if not content_type:
        return (body or b'')[:size]
    make = makers.get(content_type)
    if make is None:
        return b''
    try:
        return make().decompress(body, size)
    except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError):
        return b''

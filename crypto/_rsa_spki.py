"""The issuer key bytes: DER SubjectPublicKeyInfo with id-RSASSA-PSS (docs/PROTOCOL.md §10).

The AlgorithmIdentifier is RFC 4055 §3.1 RSASSA-PSS-params for SHA-384, MGF1-SHA-384, salt 48,
laid out as RFC 9578 §6.5 writes it (hash parameters absent, trailer field default). Readers also
take the forms with NULL hash parameters. Only this one structure is parsed, strictly (DER: minimal
lengths and integers, nothing trailing), so a key has exactly one accepted byte string besides the
NULL forms; anything else raises :class:`~crypto.errors.EncodingError`.
"""

from __future__ import annotations

from crypto.errors import EncodingError

_ID_RSASSA_PSS = bytes.fromhex("06092a864886f70d01010a")  # 1.2.840.113549.1.1.10
_ID_MGF1 = bytes.fromhex("06092a864886f70d010108")  # 1.2.840.113549.1.1.8
_ID_SHA384 = bytes.fromhex("0609608648016503040202")  # 2.16.840.1.101.3.4.2.2
_DER_NULL = b"\x05\x00"
_SALT_48 = bytes.fromhex("020130")

_SEQUENCE = 0x30
_INTEGER = 0x02
_BIT_STRING = 0x03


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _length(len(content)) + content


def _integer(value: int) -> bytes:
    # DER INTEGER of a positive value: minimal big-endian, one 0x00 when the top bit is set.
    return _tlv(_INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _algorithm_identifier(*, null_hash: bool, null_mgf_hash: bool) -> bytes:
    sha384 = _tlv(_SEQUENCE, _ID_SHA384 + (_DER_NULL if null_hash else b""))
    mgf_sha384 = _tlv(_SEQUENCE, _ID_SHA384 + (_DER_NULL if null_mgf_hash else b""))
    params = _tlv(
        _SEQUENCE,
        _tlv(0xA0, sha384)
        + _tlv(0xA1, _tlv(_SEQUENCE, _ID_MGF1 + mgf_sha384))
        + _tlv(0xA2, _SALT_48),
    )
    return _tlv(_SEQUENCE, _ID_RSASSA_PSS + params)


#: The exact AlgorithmIdentifier this project writes (docs/PROTOCOL.md §10).
PSS_ALGORITHM_IDENTIFIER = _algorithm_identifier(null_hash=False, null_mgf_hash=False)
_ACCEPTED_ALGORITHM_IDENTIFIERS = frozenset(
    _algorithm_identifier(null_hash=h, null_mgf_hash=m)
    for h in (False, True)
    for m in (False, True)
)


def encode_spki(n: int, e: int) -> bytes:
    """Return the SubjectPublicKeyInfo of ``(n, e)`` with the id-RSASSA-PSS identifier."""
    rsa_public_key = _tlv(_SEQUENCE, _integer(n) + _integer(e))
    return _tlv(_SEQUENCE, PSS_ALGORITHM_IDENTIFIER + _tlv(_BIT_STRING, b"\x00" + rsa_public_key))


class _Reader:
    """Reads DER TLVs from a buffer, refusing indefinite or non-minimal lengths."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def at_end(self) -> bool:
        return self._pos == len(self._data)

    def read(self, tag: int) -> tuple[bytes, bytes]:
        """Return (the whole TLV, its content) of the next element, which must carry ``tag``."""
        data, start = self._data, self._pos
        if len(data) - start < 2 or data[start] != tag:
            raise EncodingError(f"expected DER tag 0x{tag:02x}")
        first = data[start + 1]
        pos = start + 2
        if first < 0x80:
            length = first
        else:
            count = first & 0x7F
            if count == 0 or count > 4 or len(data) - pos < count:
                raise EncodingError("bad DER length")
            length = int.from_bytes(data[pos : pos + count], "big")
            pos += count
            if length < 0x80 or data[pos - count] == 0:
                raise EncodingError("non-minimal DER length")
        end = pos + length
        if end > len(data):
            raise EncodingError("truncated DER element")
        self._pos = end
        return data[start:end], data[pos:end]


def _read_positive_integer(reader: _Reader) -> int:
    _, content = reader.read(_INTEGER)
    if not content:
        raise EncodingError("empty DER INTEGER")
    if content[0] & 0x80:
        raise EncodingError("negative RSA key component")
    if len(content) > 1 and content[0] == 0 and not content[1] & 0x80:
        raise EncodingError("non-minimal DER INTEGER")
    return int.from_bytes(content, "big")


def decode_spki(der: bytes) -> tuple[int, int]:
    """Return ``(n, e)`` from an id-RSASSA-PSS SubjectPublicKeyInfo (§10 forms only)."""
    outer = _Reader(bytes(der))
    _, spki = outer.read(_SEQUENCE)
    if not outer.at_end():
        raise EncodingError("trailing bytes after the SubjectPublicKeyInfo")
    fields = _Reader(spki)
    algorithm, _ = fields.read(_SEQUENCE)
    if algorithm not in _ACCEPTED_ALGORITHM_IDENTIFIERS:
        raise EncodingError(
            "issuer key must use id-RSASSA-PSS with SHA-384, MGF1-SHA-384, salt 48"
        )
    _, bits = fields.read(_BIT_STRING)
    if not fields.at_end():
        raise EncodingError("trailing fields in the SubjectPublicKeyInfo")
    if not bits or bits[0] != 0:
        raise EncodingError("the public key BIT STRING must have no unused bits")
    key = _Reader(bits[1:])
    _, numbers = key.read(_SEQUENCE)
    if not key.at_end():
        raise EncodingError("trailing bytes after the RSAPublicKey")
    components = _Reader(numbers)
    n = _read_positive_integer(components)
    e = _read_positive_integer(components)
    if not components.at_end():
        raise EncodingError("trailing fields in the RSAPublicKey")
    return n, e

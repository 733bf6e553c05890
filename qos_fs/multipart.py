"""A push parser for ``multipart/form-data`` (RFC 7578) that streams the first file part.

``MultipartFile(boundary).feed(chunk)`` returns the bytes of the first part that carries a
``filename`` (or, failing that, a part named ``file``) as they arrive; everything else is
skipped. Memory is bounded by the chunk size plus the boundary length and the part headers
(capped at ``MAX_HEADER_BYTES``), never by the file.
"""

from __future__ import annotations

import re

from qos_fs.errors import MalformedUpload

MAX_HEADER_BYTES = 16 * 1024
_FILENAME = re.compile(rb'filename="([^"]*)"')
_NAME = re.compile(rb'(?:^|;)\s*name="([^"]*)"')


def boundary_of(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "boundary" and value:
            value = value.strip('"')
            if 1 <= len(value) <= 70:
                return value
    raise MalformedUpload("multipart/form-data without a valid boundary")


class MultipartFile:
    def __init__(self, boundary: str) -> None:
        self._delim = b"\r\n--" + boundary.encode("latin-1")
        self._buf = bytearray(b"\r\n")  # the first delimiter has no leading CRLF
        self._state = "preamble"  # preamble | headers | body | skip | done
        self.filename: str | None = None
        self.found = False

    def feed(self, data: bytes) -> bytes:
        self._buf += data
        out = bytearray()
        while True:
            if self._state == "done":
                self._buf.clear()
                return bytes(out)
            if self._state in ("preamble", "skip", "body"):
                i = self._buf.find(self._delim)
                if i < 0:
                    keep = len(self._delim) - 1
                    if self._state == "body" and len(self._buf) > keep:
                        out += self._buf[: len(self._buf) - keep]
                    if len(self._buf) > keep:
                        del self._buf[: len(self._buf) - keep]
                    return bytes(out)
                if self._state == "body":
                    out += self._buf[:i]
                    self._state = "done"
                    continue
                after = i + len(self._delim)
                if len(self._buf) < after + 2:
                    return bytes(out)
                if self._buf[after : after + 2] == b"--":
                    self._state = "done"
                    continue
                del self._buf[: after + 2]  # delimiter + CRLF
                self._state = "headers"
            if self._state == "headers":
                end = self._buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(self._buf) > MAX_HEADER_BYTES:
                        raise MalformedUpload("multipart part headers are too large")
                    return bytes(out)
                headers = bytes(self._buf[:end])
                del self._buf[: end + 4]
                self._state = "body" if self._is_file(headers) else "skip"

    def _is_file(self, headers: bytes) -> bool:
        for line in headers.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() != b"content-disposition":
                continue
            fn = _FILENAME.search(value)
            nm = _NAME.search(value)
            if fn is not None or (nm is not None and nm.group(1) == b"file"):
                self.found = True
                self.filename = fn.group(1).decode("utf-8", "replace") if fn else None
                return True
        return False

    def close(self) -> None:
        if not self.found:
            raise MalformedUpload("the multipart body has no file part")
        if self._state != "done":
            raise MalformedUpload("the multipart body is truncated")

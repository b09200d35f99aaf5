"""Token bytes to text, with stop strings that never leak into the output.

Tokens arrive as byte pieces that may split a UTF-8 character, and a stop string may
span several tokens. `TextStream` holds back exactly what could still turn out to be
the start of a stop string or an unfinished character, and releases the rest.
"""

from __future__ import annotations

import codecs


class TextStream:
    def __init__(self, stop: tuple[str, ...] = ()):
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._stop = tuple(s for s in stop if s)
        self._pending = ""  # decoded text not yet released
        self.stopped = False

    def feed(self, piece: bytes) -> str:
        """Add a token's bytes; return the text that is now safe to emit."""
        if self.stopped:
            return ""
        self._pending += self._decoder.decode(piece)
        cut = self._first_stop()
        if cut is not None:
            self.stopped = True
            out, self._pending = self._pending[:cut], ""
            return out
        keep = self._longest_stop_prefix_suffix()
        out = self._pending[: len(self._pending) - keep]
        self._pending = self._pending[len(out) :]
        return out

    def finish(self) -> str:
        """Release what was held back once generation is over."""
        if self.stopped:
            return ""
        self._pending += self._decoder.decode(b"", final=True)
        cut = self._first_stop()
        out = self._pending if cut is None else self._pending[:cut]
        self._pending = ""
        return out

    def _first_stop(self) -> int | None:
        hits = [i for i in (self._pending.find(s) for s in self._stop) if i >= 0]
        return min(hits) if hits else None

    def _longest_stop_prefix_suffix(self) -> int:
        """Length of the longest tail of the pending text that begins some stop string."""
        best = 0
        for s in self._stop:
            for n in range(min(len(s) - 1, len(self._pending)), best, -1):
                if self._pending.endswith(s[:n]):
                    best = n
                    break
        return best

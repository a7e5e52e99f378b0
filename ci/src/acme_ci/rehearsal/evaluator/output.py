"""An exec's output as the Dagger engine gives it back: its secrets scrubbed, and when the
exec fails only the tail of each stream.

The engine (dagger/dagger, branch backport-0.21, engine v0.21.x) does both on bytes:

- Scrubbing: engine/engineutil/executor_spec.go, `setupSecretScrubbing`, wraps the exec's
  stdout and stderr writers (set up just before by `setupStdio`, which writes the meta files
  `stdout` and `stderr`) in `NewSecretScrubReader` (engine/engineutil/secret_scrub.go). So
  every copy of the output is scrubbed: a successful exec's `stdout`/`stderr` fields and a
  failed exec's error alike. The secrets are the exec's own: the values of the variables its
  container set with `withSecretVariable` (`execMD.SecretEnvNames`, filled from
  `container.Secrets` in core/container_exec.go `execMeta`) and of its mounted secret files,
  never the session's other secrets.
- Tail: a failed exec's ExecError reads each meta file through `ReadSnapshotPath` with
  `MaxExecErrorOutputBytes` (core/exec_error.go `getExecMeta`, engine/engineutil/ref.go).
  A successful exec's `stdout`/`stderr` fields read the whole file, untrimmed
  (core/container_exec.go `metaFileContents`).

The rehearsal receives podman's output already decoded (invalid UTF-8 replaced by U+FFFD),
so the bytes are those of that text: exact for UTF-8 output.
"""

from __future__ import annotations

from collections.abc import Iterable

# engine/engineutil/ref.go: `MaxExecErrorOutputBytes = 100 * 1024`, per stream (getExecMeta
# reads stdout and stderr each with this limit).
MAX_EXEC_ERROR_OUTPUT_BYTES = 100 * 1024
# engine/engineutil/ref.go: `TruncationMessage = "[omitting %d bytes]..."`.
TRUNCATION_MESSAGE = "[omitting {} bytes]..."
# engine/engineutil/secret_scrub.go: `scrubString = []byte("***")`.
SCRUBBED = b"***"
# What Go's unicode.IsSpace counts as space (strings.TrimSpace, bytes.TrimSpace): Python's
# str.strip() would also strip U+001C..U+001F, which Go keeps.
GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)


def go_trim_space(text: str) -> str:
    return text.strip(GO_SPACE)


def error_output(output: str) -> str:
    """One stream of a failed exec as its ExecError carries it: the last 100 KiB, marked.

    ReadSnapshotPath reads the last `limit` bytes and, when it read `limit` bytes (a stream
    of exactly 100 KiB too), copies the marker over their start: the marker replaces bytes,
    it is not prepended. execErrorFromMetaRef then applies strings.TrimSpace.
    """
    data = output.encode()
    if len(data) >= MAX_EXEC_ERROR_OUTPUT_BYTES:
        tail = bytearray(data[-MAX_EXEC_ERROR_OUTPUT_BYTES:])
        marker = TRUNCATION_MESSAGE.format(len(data) - MAX_EXEC_ERROR_OUTPUT_BYTES).encode()
        tail[: len(marker)] = marker
        # The cut may split a character: Go's JSON encoding gives U+FFFD per invalid byte.
        data = bytes(tail)
    return go_trim_space(data.decode(errors="replace"))


class _Node:
    """A node of the secrets' trie: the bytes that may follow, and whether a secret ends."""

    def __init__(self) -> None:
        self.children: dict[int, _Node] = {}
        self.ends_secret = False


def _trie(secrets: Iterable[str]) -> _Node:
    """NewSecretScrubReader's trie: every non-empty secret, and its trimmed form too."""
    root = _Node()
    for secret in secrets:
        if not secret:
            continue
        for form in {secret, go_trim_space(secret)} - {""}:
            node = root
            for byte in form.encode():
                node = node.children.setdefault(byte, _Node())
            node.ends_secret = True
    return root


def scrubbed(output: str, secrets: Iterable[str]) -> str:
    """`output` with each secret's plaintext replaced by `***`, as the engine's censor does.

    A port of secret_scrub.go's `censor.Transform` over a whole stream (its state carries
    across reads, so chunking does not change the result). It follows the trie from where
    a candidate starts and never backtracks: when a candidate breaks off, the bytes it held
    are emitted as they were (after `***` for the longest secret it completed), and only
    the byte that broke it is looked at again. So a secret is matched whole, multi-line
    ones included, but one that starts inside a broken-off candidate ("aab" in "aaab") is
    left in place, and an encoded form (base64, URL-quoted) never matches.
    """
    root = _trie(secrets)
    if not root.children:
        return output
    data = output.encode()
    out = bytearray()
    held = bytearray()  # bytes of the current candidate (the censor's srcBuf)
    matched = 0  # length of the longest secret completed within `held` (matchLen)
    node = root
    index = 0
    while index < len(data):
        byte = data[index]
        following = node.children.get(byte)
        if following is not None:
            node = following
            held.append(byte)
            if node.ends_secret:
                matched = len(held)
            index += 1
        elif held:
            out += (SCRUBBED + held[matched:]) if matched else held
            held.clear()
            matched = 0
            node = root  # and look at this byte again, from the root
        else:
            out.append(byte)
            index += 1
    out += (SCRUBBED + held[matched:]) if matched else held
    return out.decode()

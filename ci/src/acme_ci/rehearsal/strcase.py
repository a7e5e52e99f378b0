"""The name conversions of the dagger CLI and engine: iancoleman/strcase v0.3.0 (the version
dagger/dagger's go.mod pins), ported.

The engine stores an argument under `strcase.ToLowerCamel` of the name the SDK registered
(core/typedef.go); the CLI's flag is `strcase.ToKebab` of that (cmd/dagger/module_inspect.go,
cliName), and it normalises what the user types the same way. The main object's name is
`strcase.ToCamel` of the module's name (core/module.go), which the runtime passes to the SDK
as DAGGER_MAIN_OBJECT.
"""

from __future__ import annotations


def _is_cap(c: str) -> bool:
    return "A" <= c <= "Z"


def _is_low(c: str) -> bool:
    return "a" <= c <= "z"


def _is_num(c: str) -> bool:
    return "0" <= c <= "9"


def _camel(s: str, init_case: bool) -> str:
    """camel.go, toCamelInitCase (no acronyms configured)."""
    s = s.strip()
    out: list[str] = []
    cap_next = init_case
    prev_is_cap = False
    for i, v in enumerate(s):
        v_is_cap, v_is_low = _is_cap(v), _is_low(v)
        if cap_next:
            if v_is_low:
                v = v.upper()
        elif i == 0:
            if v_is_cap:
                v = v.lower()
        elif prev_is_cap and v_is_cap:
            v = v.lower()
        prev_is_cap = v_is_cap
        if v_is_cap or v_is_low:
            out.append(v)
            cap_next = False
        elif _is_num(v):
            out.append(v)
            cap_next = True
        else:
            cap_next = v in "_ -."
    return "".join(out)


def to_camel(s: str) -> str:
    """strcase.ToCamel: 'acme-ci' -> 'AcmeCi'."""
    return _camel(s, True)


def to_lower_camel(s: str) -> str:
    """strcase.ToLowerCamel: 'cache_url' -> 'cacheUrl'."""
    return _camel(s, False)


def to_kebab(s: str) -> str:
    """strcase.ToKebab (snake.go, ToScreamingDelimited(s, '-', "", false))."""
    s = s.strip()
    out: list[str] = []
    for i, v in enumerate(s):
        v_is_cap, v_is_low = _is_cap(v), _is_low(v)
        if v_is_cap:
            v = v.lower()
        if i + 1 < len(s):
            nxt = s[i + 1]
            v_is_num = _is_num(v)
            next_is_cap, next_is_low, next_is_num = _is_cap(nxt), _is_low(nxt), _is_num(nxt)
            if (
                (v_is_cap and (next_is_low or next_is_num))
                or (v_is_low and (next_is_cap or next_is_num))
                or (v_is_num and (next_is_cap or next_is_low))
            ):
                if v_is_cap and next_is_low and i > 0 and _is_cap(s[i - 1]):
                    out.append("-")
                out.append(v)
                if v_is_low or v_is_num or next_is_num:
                    out.append("-")
                continue
        out.append("-" if v in " _-." else v)
    return "".join(out)


def cli_name(registered: str) -> str:
    """The flag (or subcommand) the CLI makes of a name the SDK registered."""
    return to_kebab(to_lower_camel(registered))

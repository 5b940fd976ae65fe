"""Property tests: any edit of a valid priors file either loads or fails with one clear line."""

import os
import re

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from riskmc.api import load
from riskmc.errors import PriorsError
from tests.conftest import BASE

LINES = BASE.read_text().splitlines()
TOKENS = ["", "=", "[", "]", '"', "[priors.x]", "family = 3", "range = [1]", "p05 = -1",
          "value = nan", "a = inf", 'extends = "base.toml"', "1e999", "[[claims]]", "\x00",
          "p50 = 0.4", "confidence = 2", '"a ~ b" = 0.5', "repair = 1", "= =", "ü", "\\"]


@st.composite
def edited(draw):
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["delete", "replace", "insert", "mangle"]))
        token = draw(st.sampled_from(TOKENS) | st.text(max_size=12))
        if action == "delete":
            del lines[i]
        elif action == "replace":
            lines[i] = token
        elif action == "insert":
            lines.insert(i, token)
        else:
            k = draw(st.integers(0, max(len(lines[i]) - 1, 0)))
            lines[i] = lines[i][:k] + token + lines[i][k + 1:]
    return "\n".join(lines) + "\n"


@settings(max_examples=2000 if os.environ.get("RISKMC_FUZZ") else 150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=edited())
@example(text="\n".join(LINES).replace("range = [0.30, 0.50]", "range = [0.50, 0.30]", 1))
@example(text="\n".join(LINES).replace('family = "bernoulli"', "family = 3"))
@example(text="\n".join(LINES).replace("p = 0.25", "p = inf"))
def test_edits_load_or_fail_with_one_line(tmp_path, text):
    p = tmp_path / "edited.toml"
    p.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load(p)
    except PriorsError as exc:
        msg = str(exc)
        assert "\n" not in msg
        assert msg.startswith(str(p)), msg
        assert re.match(rf"^{re.escape(str(p))}(:\d+)?: ", msg), msg

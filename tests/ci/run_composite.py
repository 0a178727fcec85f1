#!/usr/bin/env python3
"""run_composite.py - run steps of a composite GitHub Action the way the
Actions runner does, outside GitHub, for tests.

usage: run_composite.py ACTION_YML INPUTS_JSON STEP_ID...

- Fails (exit 90) if any `run:` text contains `${{` (script injection).
- Inputs: the JSON object's values, else the input's default, with
  `${{ github.repository }}`, `${{ github.actor }}`, `${{ github.token }}`
  evaluated from GITHUB_REPOSITORY, GITHUB_ACTOR and TS_GITHUB_TOKEN.
- For each STEP_ID in order: evaluates the step's `env:` expressions
  (`inputs.X`, `github.X`, `steps.ID.outputs.X`, `runner.X`, `a || b`),
  runs its `run:` text with `bash --noprofile --norc -eo pipefail FILE` and
  GITHUB_ACTION_PATH = the action's directory, a fresh GITHUB_OUTPUT file per
  step (parsed as the runner does: NAME=VALUE and NAME<<DELIM ... DELIM), and
  GITHUB_STEP_SUMMARY from the environment (or a temp file).
- Stops at the first failing step and exits with its code; otherwise prints
  the action's outputs (its `outputs:` evaluated) as one JSON object.
  The steps' own standard output goes to standard error, as a log.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def parse_output_file(path):
    out, lines, i = {}, open(path, encoding="utf-8").read().split("\n"), 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            val = []
            while i < len(lines) and lines[i] != delim:
                val.append(lines[i])
                i += 1
            if i >= len(lines):
                sys.exit(f"run_composite: GITHUB_OUTPUT: delimiter {delim!r} not found")
            i += 1
            out[name] = "\n".join(val)
        elif "=" in line:
            name, val = line.split("=", 1)
            out[name] = val
        else:
            sys.exit(f"run_composite: GITHUB_OUTPUT: invalid line {line!r}")
    return out


def lookup(ctx, path):
    cur = ctx
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part, "")
    return cur if isinstance(cur, str) else ""


def evaluate(text, ctx):
    def one(m):
        for operand in m.group(1).split("||"):
            operand = operand.strip()
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", operand):
                sys.exit(f"run_composite: unsupported expression {m.group(0)!r}")
            val = lookup(ctx, operand)
            if val:
                return val
        return ""

    return EXPR.sub(one, str(text))


def main():
    action_path, inputs_json, step_ids = sys.argv[1], sys.argv[2], sys.argv[3:]
    action = yaml.safe_load(open(action_path, encoding="utf-8"))
    steps = action["runs"]["steps"]
    for s in steps:
        if "${{" in s.get("run", ""):
            print(f"run_composite: step {s.get('id')}: run text splices an expression", file=sys.stderr)
            sys.exit(90)
    given = json.loads(inputs_json)
    ctx = {
        "github": {
            "repository": os.environ.get("GITHUB_REPOSITORY", ""),
            "actor": os.environ.get("GITHUB_ACTOR", ""),
            "token": os.environ.get("TS_GITHUB_TOKEN", ""),
        },
        "runner": {"os": "Linux", "arch": "X64", "temp": tempfile.gettempdir()},
        "steps": {},
    }
    inputs = {}
    for name, spec in (action.get("inputs") or {}).items():
        inputs[name] = given[name] if name in given else evaluate((spec or {}).get("default", ""), ctx)
    ctx["inputs"] = inputs
    by_id = {s.get("id"): s for s in steps}
    tmp = tempfile.mkdtemp(prefix="run_composite.")
    summary = os.environ.get("GITHUB_STEP_SUMMARY") or os.path.join(tmp, "summary.md")
    for sid in step_ids:
        step = by_id[sid]
        out_file = os.path.join(tmp, f"output-{sid}")
        open(out_file, "w").close()
        script = os.path.join(tmp, f"step-{sid}.sh")
        with open(script, "w", encoding="utf-8") as f:
            f.write(step["run"])
        env = dict(os.environ)
        env.update({k: evaluate(v, ctx) for k, v in (step.get("env") or {}).items()})
        env.update(GITHUB_ACTION_PATH=os.path.dirname(os.path.abspath(action_path)),
                   GITHUB_OUTPUT=out_file, GITHUB_STEP_SUMMARY=summary)
        rc = subprocess.call(["bash", "--noprofile", "--norc", "-eo", "pipefail", script], env=env,
                             stdout=sys.stderr)
        if rc != 0:
            sys.exit(rc)
        ctx["steps"][sid] = {"outputs": parse_output_file(out_file)}
    outs = {k: evaluate(v.get("value", ""), ctx) for k, v in (action.get("outputs") or {}).items()}
    print(json.dumps(outs))


if __name__ == "__main__":
    main()

"""How soon `invoke seed` answers Ctrl-C: the "stopping" line, and the exit with the count.

On a fresh engine (moto by default; `--engine dynamodb-local`), a synthetic set (20,000
messages by default) is seeded once; then, --repeat times, a re-seed of it (its planner
reads the table's keys while its writers go out) gets SIGINT after --after seconds of
writing. It prints, per run, the seconds from SIGINT to the `stopping:` line and to the
process's exit (exit code 130 and an `interrupted: N of M items written` line expected),
then the medians against the goals: the line within 0.5 s, the exit within 2 s. With
`--twice` a second SIGINT follows the first line at once: exit 130, no traceback.

    python bench/interrupts.py [--engine moto|dynamodb-local] [--port 8285] [--messages 20000] [--repeat 3] [--twice]
"""

import signal
import sys
import threading
import time

import _common as common

from tests.support import start_task_process

LINE_GOAL, EXIT_GOAL = 0.5, 2.0


def one_run(env, fixtures: str, after: float, twice: bool) -> tuple[float, float, int, str]:
    process = start_task_process(["seed", "--fixtures", fixtures], env)
    lines: list[tuple[float, str]] = []
    stderr = process.stderr
    assert stderr is not None
    reader = threading.Thread(target=lambda: lines.extend((time.perf_counter(), line) for line in stderr), daemon=True)
    reader.start()
    time.sleep(after)
    pressed = time.perf_counter()
    process.send_signal(signal.SIGINT)
    while twice and not lines and time.perf_counter() - pressed < 10:
        time.sleep(0.005)
    if twice:
        process.send_signal(signal.SIGINT)
    code = process.wait(timeout=60)
    exited = time.perf_counter() - pressed
    reader.join(timeout=5)
    said = "".join(line for _, line in lines)
    first = next((at - pressed for at, line in lines if line.startswith("stopping:")), float("inf"))
    if code != 130 or "Traceback" in said or (not twice and "interrupted: " not in said):
        raise SystemExit(f"seed did not stop as it should (exit {code}): {said[-800:]}")
    return first, exited, code, said.strip().splitlines()[-1]


def main():
    parser = common.arguments(__doc__.split("\n\n")[0], port=8285)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--after", type=float, default=3.0, help="seconds after the start to press Ctrl-C (default 3)")
    parser.add_argument("--twice", action="store_true", help="press Ctrl-C a second time as soon as the first is answered")
    args = parser.parse_args()
    print(f"machine: {common.machine()}")
    firsts, exits = [], []
    with common.engine(args.port, args.engine) as (_endpoint, env, scratch):
        common.seed_synthetic(env, scratch, args.messages, 100, 100)
        fixtures = str(scratch / "fixtures")
        print(f"{'run':>3} {'stopping line s':>16} {'exit s':>7}  last line")
        for number in range(1, args.repeat + 1):
            first, exited, _, last = one_run(env, fixtures, args.after, args.twice)
            firsts.append(first)
            exits.append(exited)
            print(f"{number:>3} {first:>16.3f} {exited:>7.3f}  {last}", flush=True)
    line, exit_ = common.median(firsts), common.median(exits)
    print(f"median: stopping line after {line:.3f} s (goal <= {LINE_GOAL}), exit after {exit_:.3f} s (goal <= {EXIT_GOAL})")
    return 0 if line <= LINE_GOAL and exit_ <= EXIT_GOAL else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Execute Jupyter notebooks on the Rust (evcxr) kernel and fail on anything a reader would see fail.

Used by `scripts/notebooks`, which sets up the kernel and this script's virtual environment.
A notebook fails when
  * a cell errors (a compile error, a `?` that returned Err, a panic) or times out;
  * any stderr output carries panic text (`panicked at`), even if the kernel reported success;
  * a cell tagged `figure` produced no image/png or image/svg+xml output, or the notebook's
    metadata says `"lenet_tutor": {"figures": true}` and no cell produced an image;
  * a cell generated from a book listing with an output block (its metadata holds
    `lenet_tutor.listing.expected_output` and the `varies` patterns of the listing's
    `book_output::check`, see scripts/lib/notebooks_generate.py) printed something else: compared
    under the rules of src/book_output.rs (scripts/lib/book_output.py), and reported with the
    chapter, the listing and a diff.
Cells tagged `skip-execution` are not run; a cell tagged `raises-exception` may error.

With `--first-cells N` only the first N code cells of each notebook run (the cells after them are
dropped, nothing is compared or written): `scripts/notebooks --setup` runs the first notebook's
`:dep` cell this way, so that candle and the crate are built before a reader opens JupyterLab.

Prints one line per notebook and `N passed, N failed`; exits 1 if any failed, 2 if given none.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from book_output import compare as compare_with_book  # noqa: E402  (scripts/lib/book_output.py)
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

IMAGE_TYPES = ("image/png", "image/svg+xml")
PANIC_MARKERS = ("panicked at", "thread 'main' panicked", "Child process terminated")
MAX_OUTPUT_BYTES = 1_000_000  # --update leaves bigger outputs out of the committed notebook


def outputs_of(cell) -> list:
    return cell.get("outputs", []) if cell.get("cell_type") == "code" else []


def has_image(cell) -> bool:
    return any(any(kind in out.get("data", {}) for kind in IMAGE_TYPES) for out in outputs_of(cell))


def stderr_text(cell) -> str:
    parts = []
    for out in outputs_of(cell):
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            parts.append(out.get("text", ""))
        elif out.get("output_type") == "error":
            parts.append(out.get("evalue", "") + "\n" + "\n".join(out.get("traceback", [])))
    return "".join(parts)


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def excerpt(text: str, lines: int = 25) -> str:
    kept = ANSI.sub("", text).strip().splitlines()
    more = len(kept) - lines
    return "\n".join(kept[:lines]) + (f"\n... ({more} more lines)" if more > 0 else "")


def readable_stderr(text: str) -> str:
    """The stderr of a cell without stack backtraces (which RUST_BACKTRACE may switch on)."""
    kept, in_backtrace = [], False
    for line in ANSI.sub("", text).splitlines():
        if line.strip() == "stack backtrace:":
            in_backtrace = True
            continue
        if in_backtrace and (line.startswith(" ") or line.startswith("note: Some details")):
            continue
        in_backtrace = False
        if line.strip():
            kept.append(line)
    return "\n".join(kept)


def describe_failed_cell(nb) -> str | None:
    """A short account of the first code cell that has an error output: where, what, stderr."""
    for index, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), start=1):
        errors = [o for o in outputs_of(cell) if o.get("output_type") == "error"]
        if not errors:
            continue
        first_line = next((l for l in cell.source.splitlines() if l.strip()), "")
        streams = "".join(o.get("text", "") for o in outputs_of(cell)
                          if o.get("output_type") == "stream" and o.get("name") == "stderr")
        details = "\n".join(ANSI.sub("", "\n".join(e.get("traceback", []))) or e.get("evalue", "")
                            for e in errors)
        return (f"code cell {index} (`{first_line.strip()[:70]}`) failed:\n"
                + excerpt(readable_stderr(streams) + "\n" + details, 30))
    return None


def problems_after_run(nb) -> list[str]:
    """What is wrong with an executed notebook even when every cell 'succeeded'."""
    problems = []
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for index, cell in enumerate(code_cells, start=1):
        tags = cell.get("metadata", {}).get("tags", [])
        if "raises-exception" in tags:
            continue
        err = stderr_text(cell)
        if any(marker in err for marker in PANIC_MARKERS):
            problems.append(f"code cell {index} panicked:\n{excerpt(readable_stderr(err))}")
        if "figure" in tags and "skip-execution" not in tags and not has_image(cell):
            problems.append(f"code cell {index} is tagged `figure` but produced no image "
                            f"(image/png or image/svg+xml)")
    problems.extend(output_differences(nb))
    wants_figures = nb.metadata.get("lenet_tutor", {}).get("figures", False)
    if wants_figures and not any(has_image(c) for c in code_cells):
        problems.append("the notebook's metadata says lenet_tutor.figures = true, "
                        "but no cell produced an image")
    return problems


def stdout_text(cell) -> str:
    return "".join(out.get("text", "") for out in outputs_of(cell)
                   if out.get("output_type") == "stream" and out.get("name") == "stdout")


def book_listings(nb) -> list[tuple[int, object, dict]]:
    """(code cell number from 1, cell, listing metadata) of the cells whose book listing has an
    output block."""
    found = []
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for index, cell in enumerate(code_cells, start=1):
        listing = cell.get("metadata", {}).get("lenet_tutor", {}).get("listing", {})
        if "expected_output" in listing:
            found.append((index, cell, listing))
    return found


def output_differences(nb) -> list[str]:
    """Each listing's printed output against the chapter's output block (src/book_output.rs)."""
    problems = []
    for index, cell, listing in book_listings(nb):
        tags = cell.get("metadata", {}).get("tags", [])
        if "skip-execution" in tags or "raises-exception" in tags:
            continue
        here = f"{listing.get('chapter')}, listing {listing.get('label')} (line {listing.get('line')})"
        difference = compare_with_book(listing["expected_output"], stdout_text(cell),
                                       list(listing.get("varies", [])), here,
                                       printed_name=f"printed by code cell {index}")
        if difference:
            problems.append(f"code cell {index}: {difference}")
    return problems


def merge_streams(outputs: list) -> list:
    """evcxr sends each printed line as its own output; one output per run of lines reads better."""
    merged: list = []
    for out in outputs:
        previous = merged[-1] if merged else None
        if (out.get("output_type") == "stream" and previous is not None
                and previous.get("output_type") == "stream"
                and previous.get("name") == out.get("name")):
            previous["text"] = previous.get("text", "") + out.get("text", "")
        else:
            merged.append(out)
    return merged


def strip_for_commit(nb) -> None:
    """Merges stream outputs, drops timing metadata and outputs too big to commit (--update)."""
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)
        if cell.cell_type != "code":
            continue
        cell.outputs = merge_streams(cell.outputs)
        for i, out in enumerate(cell.outputs):
            size = len(json.dumps(out))
            if size > MAX_OUTPUT_BYTES:
                cell.outputs[i] = nbformat.v4.new_output(
                    "stream", name="stdout",
                    text=f"[an output of {size / 1e6:.1f} MB was left out of the committed "
                         f"notebook; run the cell to see it]\n")


def keep_first_code_cells(nb, count: int) -> None:
    """Drops every cell after the `count`-th code cell (--first-cells)."""
    seen = 0
    for index, cell in enumerate(nb.cells):
        seen += cell.cell_type == "code"
        if seen == count:
            del nb.cells[index + 1:]
            return


def run_notebook(path: Path, args) -> tuple[list[str], object, dict]:
    nb = nbformat.read(path, as_version=4)
    if args.first_cells:
        keep_first_code_cells(nb, args.first_cells)
    timings = {"start": time.monotonic(), "first_cell_done": None}

    def cell_done(cell, cell_index, execute_reply):
        if timings["first_cell_done"] is None:
            timings["first_cell_done"] = time.monotonic() - timings["start"]
        if args.verbose:
            print(f"     cell {cell_index} done at {time.monotonic() - timings['start']:.1f}s",
                  flush=True)

    client = NotebookClient(
        nb,
        kernel_name=args.kernel,  # every notebook here is Rust, whatever its metadata says
        timeout=args.cell_timeout,
        startup_timeout=args.startup_timeout,
        resources={"metadata": {"path": str(path.parent.resolve())}},  # cwd of the kernel
        allow_errors=False,
        record_timing=True,
        on_cell_executed=cell_done,
    )
    problems: list[str] = []
    try:
        client.execute()
    except CellTimeoutError as error:
        problems.append(f"a cell ran longer than {args.cell_timeout}s: {excerpt(str(error), 8)}")
    except DeadKernelError as error:
        problems.append(f"the kernel died: {error}")
    except CellExecutionError as error:
        problems.append(describe_failed_cell(nb) or f"a cell failed:\n{excerpt(str(error), 40)}")
    except Exception as error:  # noqa: BLE001 - a kernel that won't start, say: report it, go on
        problems.append(f"could not run the notebook: {type(error).__name__}: {error}")
    timings["compared"] = 0
    if not problems and not args.first_cells:  # a part of a notebook: its errors are all we check
        problems = problems_after_run(nb)
        timings["compared"] = len(book_listings(nb))
    timings["total"] = time.monotonic() - timings["start"]
    return problems, nb, timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--update", action="store_true",
                        help="write the executed outputs back into the notebooks that passed")
    parser.add_argument("--expect-from-name", action="store_true",
                        help="self-test: notebooks named fail_*.ipynb must fail, the rest pass")
    parser.add_argument("--kernel", default="rust")
    parser.add_argument("--cell-timeout", type=int,
                        default=int(os.environ.get("NOTEBOOK_CELL_TIMEOUT", "2400")),
                        help="seconds per cell (the first `:dep` compiles candle: ~10 min cold)")
    parser.add_argument("--startup-timeout", type=int, default=180)
    parser.add_argument("--first-cells", type=int, metavar="N",
                        help="run only the first N code cells of each notebook; compare nothing, "
                             "write nothing (scripts/notebooks --setup builds the crate this way)")
    parser.add_argument("--verbose", "-v", action="store_true")
    args = parser.parse_args()
    if args.first_cells is not None and (args.first_cells < 1 or args.update or args.expect_from_name):
        parser.error("--first-cells takes N >= 1, and goes with neither --update nor --expect-from-name")
    if not args.notebooks:
        # A run that checked nothing must not read as a pass.
        print("error: no notebooks to run", file=sys.stderr)
        return 2

    passed = failed = 0
    for path in args.notebooks:
        print(f"..   {path}", flush=True)
        problems, nb, timings = run_notebook(path, args)
        first = timings["first_cell_done"]
        took = ((f"first {args.first_cells} code cell(s) only, " if args.first_cells else "")
                + f"{timings['total']:.1f}s"
                + (f", first cell done {first:.1f}s after kernel start" if first is not None else "")
                + (f", {timings['compared']} output(s) compared with the book" if timings["compared"] else ""))
        if args.expect_from_name:
            should_fail = path.name.startswith("fail_")
            ok = bool(problems) == should_fail
            verdict = "failed as it should" if should_fail and problems else (
                "passed as it should" if ok else "passed but should have failed" if should_fail
                else "failed but should have passed")
            print(("ok   " if ok else "FAIL ") + f"{path.name}: {verdict} ({took})")
            shown = problems if (not ok or args.verbose) else problems[:1]
        else:
            ok = not problems
            print(("ok   " if ok else "FAIL ") + f"{path} ({took})")
            shown = problems
        for problem in shown:
            print("       " + problem.replace("\n", "\n       | "))
        if ok and args.update and not problems:
            strip_for_commit(nb)
            nbformat.write(nb, path)
            print(f"       outputs written back to {path}")
        passed += ok
        failed += not ok
        sys.stdout.flush()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

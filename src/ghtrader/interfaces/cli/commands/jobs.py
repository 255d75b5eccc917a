"""`ghtrader jobs list|show|logs|cancel`, `ghtrader locks` and `ghtrader reproduce`."""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from typing import Any

from ghtrader.interfaces.cli.output import Output, table
from ghtrader.interfaces.client import GhTraderClient

STATES = ("queued", "running", "succeeded", "failed", "cancelled")
SOURCES = ("terminal", "dashboard", "scheduler", "api")


def _when(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M:%S") if ns else "-"


def _duration(job: dict[str, Any]) -> str:
    return f"{job['duration_s']:.1f}s" if job["end_ns"] and job["start_ns"] else "-"


def _exit(job: dict[str, Any]) -> str:
    return str(job["exit_code"]) if job["has_exit_code"] else "-"


def _code(job: dict[str, Any]) -> str:
    commit = job.get("git_commit") or "-"
    if not job.get("git_dirty_known"):
        return commit
    return f"{commit} ({'dirty' if job['git_dirty'] else 'clean'})"


def format_jobs(jobs: list[dict[str, Any]]) -> str:
    if not jobs:
        return "no jobs"
    rows = [
        [
            j["id"],
            j["command"],
            j["state"],
            j["source"],
            _when(j["created_ns"]),
            _duration(j),
            _exit(j),
            (j["summary"] or j["error"] or j["progress_message"] or j["waited_for"])[:80],
        ]
        for j in jobs
    ]
    return table(["id", "command", "state", "source", "created (UTC)", "took", "exit", "detail"], rows)


def format_job(j: dict[str, Any]) -> str:
    lines = [
        f"job {j['id']}: {j['command']} ({j['state']}, from {j['source']})",
        f"  args          {j['args_json']}",
        f"  process       pid {j['pid'] or '-'}, group {j['pgid'] or '-'}",
        f"  created       {_when(j['created_ns'])} UTC",
        f"  started       {_when(j['start_ns'])}",
        f"  ended         {_when(j['end_ns'])}  (took {_duration(j)}, exit {_exit(j)})",
        f"  locks wanted  {', '.join(j['locks_wanted']) or '-'}" + (" + a TqSdk slot" if j["tqsdk"] else ""),
        f"  locks granted {', '.join(j['locks_held']) or '-'}",
        f"  code          {_code(j)}",
    ]
    if j["waited_for"]:
        lines.append(f"  waited for    {j['waited_for']}")
    if j["progress_total"] or j["progress_message"]:
        lines.append(f"  progress      {j['progress_done']}/{j['progress_total']} {j['progress_message']}")
    if j["error"]:
        lines.append(
            f"  error         {j['error_kind']}: {j['error']}" if j["error_kind"] else f"  reason        {j['error']}"
        )
    if j["has_result"]:
        lines.append(f"  result        {'ok' if j['ok'] else 'NOT OK'}: {j['summary']}")
        if j["report_path"]:
            lines.append(f"  report        {j['report_path']}")
    if j.get("manifest_path"):
        lines.append(f"  manifest      {j['manifest_path']}")
    lines.append(f"  log           {j['log_path']}")
    return "\n".join(lines)


def cmd_list(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    jobs = client.list_jobs(
        states=args.state or (), source=args.source or "", limit=args.limit, before_id=args.before_id
    )
    out.result({"jobs": jobs}, format_jobs(jobs))
    return 0


def cmd_show(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    job = client.get_job(args.job_id)
    out.result(job, format_job(job))
    return 0


def cmd_logs(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    for text in client.tail_job_log(args.job_id, offset=-args.tail if args.tail else 0, follow=args.follow):
        out.stdout.write(text)
        out.stdout.flush()
    return 0


def cmd_cancel(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    job = client.cancel_job(args.job_id, grace_s=args.grace)
    out.result(job, f"job {job['id']}: {job['state']}" + (f" ({job['error']})" if job["error"] else ""))
    return 0 if job["state"] == "cancelled" else 1


def format_locks(locks: list[dict[str, Any]]) -> str:
    if not locks:
        return "no locks held"
    return table(
        ["key", "job", "pid", "since (UTC)"],
        [[lk["key"], lk["job_id"], lk["pid"], _when(lk["acquired_ns"])] for lk in locks],
    )


def cmd_locks(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    locks = client.list_locks()
    out.result({"locks": locks}, format_locks(locks))
    return 0


def format_comparison(c: dict[str, Any], original: int, reproduced: int) -> str:
    verdict = "EQUAL" if c["equal"] else "DIFFERENT"
    lines = [
        f"job {reproduced} reproduces job {original}: {verdict} "
        f"({c['metrics_compared']} metrics compared, rtol {c['rtol']:g}, atol {c['atol']:g})"
    ]
    lines += [f"  warning: {w}" for w in c["warnings"]]
    lines += [f"  {n}" for n in c["notes"]]
    if c["differences"]:
        rows = [
            [
                d["section"],
                d["key"],
                d["original"][:40],
                d["reproduced"][:40],
                f"{d['abs_diff']:.3g}" if d["abs_diff"] else "",
            ]
            for d in c["differences"]
        ]
        lines.append(table(["section", "key", f"job {original}", f"job {reproduced}", "|diff|"], rows))
    lines.append(f"  manifests: {c['original_manifest_path']} and {c['reproduced_manifest_path']}")
    return "\n".join(lines)


def _wait_for_job(client: GhTraderClient, job_id: int, out: Output, poll_s: float = 0.5) -> dict[str, Any]:
    seen = ""
    while True:
        job = client.get_job(job_id)
        if job["state"] in ("succeeded", "failed", "cancelled"):
            return job
        message = job["progress_message"] or job["waited_for"]
        if message and message != seen:
            seen = message
            out.progress(f"job {job_id} {job['state']}: {message}")
        time.sleep(poll_s)


def cmd_reproduce(client: GhTraderClient, args: argparse.Namespace, out: Output) -> int:
    original, job = client.reproduce_job(args.job_id)
    if not args.wait:
        out.result(
            {"original": original, "job": job},
            f"job {job['id']} reproduces job {original['id']} ({original['command']}); "
            f"compare with `ghtrader reproduce {original['id']} --wait` or `ghtrader jobs show {job['id']}`",
        )
        return 0
    out.progress(f"job {job['id']} reproduces job {original['id']} ({original['command']})")
    done = _wait_for_job(client, job["id"], out)
    comparison = client.compare_jobs(original["id"], done["id"], rtol=args.rtol, atol=args.atol)
    out.result(
        {"original": original, "job": done, "comparison": comparison},
        format_comparison(comparison, original["id"], done["id"]),
    )
    return 0 if comparison["equal"] else 1


def _tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"tolerance must be a number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"tolerance must be >= 0, got {text}")
    return value


def _job_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"job id must be a number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"job id must be >= 1, got {value}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    jobs = sub.add_parser("jobs", help="subprocess jobs: list, show, logs, cancel")
    jsub = jobs.add_subparsers(dest="jobs_command", metavar="SUBCOMMAND")
    jsub.required = True
    p = jsub.add_parser("list", help="jobs, newest first")
    p.add_argument("--state", action="append", choices=STATES, help="only this state (repeatable)")
    p.add_argument("--source", choices=SOURCES, help="only jobs started from here")
    p.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    p.add_argument("--before-id", type=int, default=None, help="only jobs older than this id (the next page)")
    p.set_defaults(handler=cmd_list)
    p = jsub.add_parser("show", help="one job in full")
    p.add_argument("job_id", type=_job_id)
    p.set_defaults(handler=cmd_show)
    p = jsub.add_parser("logs", help="a job's log (--follow: until it ends)")
    p.add_argument("job_id", type=_job_id)
    p.add_argument("--follow", "-f", action="store_true", help="keep printing new output until the job ends")
    p.add_argument("--tail", type=int, default=0, help="start this many bytes before the end")
    p.set_defaults(handler=cmd_logs)
    p = jsub.add_parser("cancel", help="SIGTERM the job's process group, SIGKILL after the grace period")
    p.add_argument("job_id", type=_job_id)
    p.add_argument("--grace", type=float, default=None, help="seconds before SIGKILL (default: the server's)")
    p.set_defaults(handler=cmd_cancel)
    locks = sub.add_parser("locks", help="locks held now and the jobs holding them")
    locks.set_defaults(handler=cmd_locks)
    p = sub.add_parser("reproduce", help="rerun a finished job with the same request and compare the two runs")
    p.add_argument("job_id", type=_job_id)
    p.add_argument("--rtol", type=_tolerance, default=None, help="relative tolerance on metrics (default 1e-6)")
    p.add_argument("--atol", type=_tolerance, default=None, help="absolute tolerance on metrics (default 1e-9)")
    p.set_defaults(handler=cmd_reproduce)

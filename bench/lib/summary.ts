// The summary of an `npm run bench` run as Markdown, and its section of bench/README.md (between the
// bench:report markers; the rest of the README is left as it is).
import { constants } from "node:os"
import type { BenchReport, Figure } from "./report.js"
import type { BenchRun } from "./runBench.js"

export const START_MARKER = "<!-- bench:report:start -->"
export const END_MARKER = "<!-- bench:report:end -->"
export const PLACEHOLDER = "Not generated yet: run `npm run bench`."
const HEADING = "## Summary of the last `npm run bench`"

export interface Outcome {
  readonly run: BenchRun
  /** Undefined when the bench wrote no report (it failed before its results). */
  readonly report: BenchReport | undefined
}

export const failed = (run: BenchRun) => run.exitCode !== 0

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ")

const number = (value: number | null, unit: string) => {
  if (value === null) return "—"
  const digits = unit === "ms" ? (value < 10 ? 2 : 1) : value >= 100 ? 0 : 1
  return value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
}
const ratio = (value: number | null) => (value === null ? "—" : value.toFixed(value < 0.1 ? 3 : 2))
const met = (value: boolean | null) => (value === null ? "n/a" : value ? "yes" : "**no**")
const mib = (value: number | null) => (value === null ? "—" : value.toFixed(1))

const figureRow = (bench: string, f: Figure) => {
  const name = f.figure.includes(f.unit) ? f.figure : `${f.figure}, ${f.unit}`
  const values = [number(f.ours, f.unit), number(f.baseline, f.unit), ratio(f.ratio)]
  return `| ${bench} | ${cell(name)} | ${values.join(" | ")} | ${cell(f.target)} | ${met(f.met)} |`
}

// tsx exits with 128 + n when the bench was killed by signal n.
const signalName = (code: number) => Object.entries(constants.signals).find(([, n]) => n === code - 128)?.[0]

const failure = (run: BenchRun) => {
  const signal = run.exitCode !== null && run.exitCode > 128 ? signalName(run.exitCode) : undefined
  const how = run.signal !== null
    ? `killed by ${run.signal}`
    : `exit code ${run.exitCode ?? "none"}${signal === undefined ? "" : `, ${signal}`}`
  return `**failed** (${how}): ${run.reason.slice(0, 300)}`
}

/** `header`: the lines above the tables (date, commit, machine, load, settings). */
export const renderSummary = (header: ReadonlyArray<string>, outcomes: ReadonlyArray<Outcome>) => {
  const lines = [...header, ""]
  lines.push("| bench | figure | ours | baseline | ratio | SPEC target | met |", "|---|---|---:|---:|---:|---|---|")
  for (const { report, run } of outcomes) {
    if (failed(run)) {
      lines.push(
        `| ${run.name} | ${cell(failure(run))}${
          report === undefined ? "" : "; its figures follow"
        } | — | — | — | — | **no** |`
      )
    }
    for (const f of report?.figures ?? []) lines.push(figureRow(run.name, f))
  }
  lines.push("", "| bench | ours peak RSS MiB | baseline peak RSS MiB |", "|---|---:|---:|")
  for (const { report, run } of outcomes) {
    lines.push(
      report === undefined
        ? `| ${run.name} | failed | failed |`
        : `| ${run.name} | ${mib(report.peakRssMiB.ours)} | ${mib(report.peakRssMiB.baseline)} |`
    )
  }
  lines.push("", "ratio = ours / baseline for every figure (for latencies, lower is better). Per bench:", "")
  for (const { report, run } of outcomes) {
    const seconds = `${run.seconds.toFixed(0)} s`
    if (report === undefined) {
      lines.push(`- **${run.name}** (${seconds}): no figures.`)
      continue
    }
    // Figures that share their notes share one line.
    const notes = new Map<string, Array<string>>()
    for (const f of report.figures) if (f.notes !== "") notes.set(f.notes, [...(notes.get(f.notes) ?? []), f.figure])
    lines.push(`- **${run.name}** (${seconds}): baseline ${report.baseline}.`)
    for (const [text, figures] of notes) lines.push(`  - ${figures.join("; ")}: ${text}.`)
    lines.push(`  - peak RSS: ${report.peakRssMiB.notes}.`)
  }
  return lines.join("\n")
}

/** The README with its generated section replaced (inserted before the first `## ` section if missing). */
export const withSummary = (readme: string, body: string) => {
  const start = readme.indexOf(START_MARKER)
  const end = readme.indexOf(END_MARKER)
  if (start >= 0 && end > start) {
    return `${readme.slice(0, start + START_MARKER.length)}\n${body.trim()}\n${readme.slice(end)}`
  }
  const section = `${HEADING}\n\n${START_MARKER}\n${body.trim()}\n${END_MARKER}\n\n`
  const at = readme.search(/^## /m)
  return at < 0 ? `${readme.trimEnd()}\n\n${section}` : `${readme.slice(0, at)}${section}${readme.slice(at)}`
}

// A bench's figures in machine-readable form: each run.ts writes one JSON report to the file named by
// BENCH_RESULT_FILE (nothing when unset), and `npm run bench` (bench/all.ts) reads them back.
import { readFileSync, writeFileSync } from "node:fs"

/** A SPEC section 8 bar, on ours' own figure or on the ratio ours/baseline. */
export interface Bar {
  readonly of: "ours" | "ratio"
  readonly op: "≥" | "≤"
  readonly value: number
}

export const atLeast = (value: number, of: Bar["of"] = "ours"): Bar => ({ of, op: "≥", value })
export const atMost = (value: number): Bar => ({ of: "ours", op: "≤", value })

export interface Figure {
  readonly figure: string
  readonly unit: string
  readonly ours: number | null
  readonly baseline: number | null
  /** ours / baseline, whichever way is better for the figure. */
  readonly ratio: number | null
  /** The SPEC target as text, or "no SPEC target". */
  readonly target: string
  /** Whether ours meets the target; null when the figure has none. */
  readonly met: boolean | null
  readonly notes: string
}

export interface PeakRss {
  readonly ours: number | null
  readonly baseline: number | null
  readonly notes: string
}

export interface BenchReport {
  readonly bench: string
  readonly baseline: string
  readonly figures: ReadonlyArray<Figure>
  /** Peak resident set size in MiB (VmHWM), of each system's process under load. */
  readonly peakRssMiB: PeakRss
  /** The run's PROBLEM lines: any of them makes the bench exit non-zero. */
  readonly problems: ReadonlyArray<string>
}

const finite = (value: number | undefined) => (value !== undefined && Number.isFinite(value) ? value : null)

const targetText = (bar: Bar, unit: string) =>
  bar.of === "ratio"
    ? `ratio ${bar.op} ${bar.value.toFixed(1)}`
    : `${bar.op} ${bar.value.toLocaleString("en-US")} ${unit}`

export const figure = (
  name: string,
  unit: string,
  ours: number,
  baseline: number,
  options: { readonly bar?: Bar; readonly notes?: string } = {}
): Figure => {
  const ratio = finite(ours / baseline)
  const { bar } = options
  const subject = bar?.of === "ratio" ? ratio : finite(ours)
  return {
    figure: name,
    unit,
    ours: finite(ours),
    baseline: finite(baseline),
    ratio,
    target: bar === undefined ? "no SPEC target" : targetText(bar, unit),
    met: bar === undefined ? null : subject !== null && (bar.op === "≥" ? subject >= bar.value : subject <= bar.value),
    notes: options.notes ?? ""
  }
}

/** Peak RSS figures, null where a process could not be read. */
export const peakRss = (ours: number | undefined, baseline: number | undefined, notes: string): PeakRss => ({
  ours: finite(ours),
  baseline: finite(baseline),
  notes
})

/** Writes the report to BENCH_RESULT_FILE; returns the file, or undefined when the variable is unset. */
export const writeReport = (report: BenchReport) => {
  const file = process.env.BENCH_RESULT_FILE
  if (file === undefined || file === "") return undefined
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`)
  return file
}

/** The report a bench wrote, or undefined when it wrote none (it failed before its results). */
export const readReport = (file: string): BenchReport | undefined => {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as BenchReport
  } catch {
    return undefined
  }
}

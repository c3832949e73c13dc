// Printing a bench's figures: numbers with a fixed number of decimals, and aligned columns.

/** `value` with `digits` decimals and thousands separators; "-" for NaN and infinities. */
export const fmt = (value: number, digits = 0) =>
  Number.isFinite(value)
    ? value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "-"

/** The rows as aligned lines: the first `textColumns` columns padded on the right, numbers on the left. */
export const tableLines = (rows: ReadonlyArray<ReadonlyArray<string>>, textColumns = 1) => {
  if (rows.length === 0) return []
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)))
  return rows.map((row) =>
    row.map((cell, c) => (c < textColumns ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ")
  )
}

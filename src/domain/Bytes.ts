/** A size for people: exact bytes below 1 MiB (where limits in tests and messages live), else MiB or GiB. */
export const formatBytes = (bytes: number) =>
  bytes >= 1024 ** 3
    ? `${(bytes / 1024 ** 3).toFixed(2)} GiB`
    : bytes >= 1024 ** 2
    ? `${(bytes / 1024 ** 2).toFixed(1)} MiB`
    : `${bytes.toLocaleString("en-US")} bytes`

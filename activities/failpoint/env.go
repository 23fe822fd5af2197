package failpoint

// Env names the failpoints armed in a process, comma-separated; builds
// without the failpoints tag ignore it.
const Env = "DEALFLOW_FAILPOINTS"

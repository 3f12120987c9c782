//! Durable progress: the per-job state folder, its lock, the checkpoint after every page, and the final report.

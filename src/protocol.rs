//! Messages between the UI thread and the compute worker.

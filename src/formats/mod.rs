//! File formats: `.npy`, `.npz`, `.safetensors` (readers and writers), and the app's manifest.

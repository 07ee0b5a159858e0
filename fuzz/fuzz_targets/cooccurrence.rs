//! Fuzz target 'cooccurrence': see sae_geometry::formats::fuzzing::cooccurrence_target and docs/FUZZING.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sae_geometry::formats::fuzzing::cooccurrence_target(data);
});

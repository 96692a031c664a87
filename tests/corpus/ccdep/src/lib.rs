//! C code compiled by this crate's build script (cc crate).
extern "C" {
    fn ohr_mix(x: u32) -> u32;
}

/// A deterministic integer hash implemented in C.
pub fn mix(x: u32) -> u32 {
    // Safety: ohr_mix is a pure function over integers.
    unsafe { ohr_mix(x) }
}

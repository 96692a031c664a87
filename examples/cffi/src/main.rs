use std::ffi::CStr;
use std::os::raw::{c_char, c_int};

// Provided by libohradd.a, built from csrc/add.c by build.rs.
extern "C" {
    fn ohr_add(a: c_int, b: c_int) -> c_int;
    fn ohr_msg() -> *const c_char;
}

fn main() {
    // SAFETY: both functions are pure; ohr_msg returns a static NUL-terminated string.
    let (sum, msg) = unsafe { (ohr_add(40, 2), CStr::from_ptr(ohr_msg())) };
    println!("cffi: ohr_add(40,2)={sum} msg={}", msg.to_string_lossy());
}

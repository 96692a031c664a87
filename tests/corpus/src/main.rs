//! ohr-corpus: uses every dependency in a way that depends on what its build
//! script produced (link flags, cfgs, generated code, compiled C/asm), and
//! prints one deterministic line per crate. Any failed check panics, so a
//! zero exit status plus the final `corpus: N crates ok` line means success.
//!
//! Output is deterministic for a given machine: it contains versions of the
//! linked system libraries, but no timestamps, pids, paths or hash-map order.

// Crates whose Rust side is (almost) empty: keep them linked so their build
// scripts' `rustc-link-lib` directives reach the final link.
use expat_sys as _;
use freetype_sys as _;

use std::ffi::{c_char, c_int, c_void, CStr};
use std::fmt::Write as _;
use std::os::raw::c_uint;

// Functions the -sys crates do not declare; the symbols still come from the
// libraries their build scripts told rustc to link.
extern "C" {
    fn BZ2_bzlibVersion() -> *const c_char; // libbz2 (bzip2-sys)
    fn libssh2_version(required: c_int) -> *const c_char; // libssh2 (libssh2-sys)
    fn XML_ExpatVersion() -> *const c_char; // libexpat (expat-sys)
    fn dbus_get_version(major: *mut c_int, minor: *mut c_int, micro: *mut c_int); // libdbus (libdbus-sys)
    fn FT_Library_Version(
        lib: freetype_sys::FT_Library,
        major: *mut freetype_sys::FT_Int,
        minor: *mut freetype_sys::FT_Int,
        patch: *mut freetype_sys::FT_Int,
    ); // libfreetype (freetype-sys)
}

struct Report {
    lines: Vec<String>,
}

impl Report {
    fn line(&mut self, krate: &str, text: impl AsRef<str>) {
        let l = format!("{}: {}", krate, text.as_ref());
        println!("{}", l);
        self.lines.push(l);
    }
}

fn cstr(p: *const c_char) -> String {
    assert!(!p.is_null(), "NULL C string");
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        write!(s, "{:02x}", b).unwrap();
    }
    s
}

/// Deterministic test data (no RNG): 1 MiB of a simple byte pattern.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8).collect()
}

// ---------------------------------------------------------------------------
// pkg-config'd system libraries
// ---------------------------------------------------------------------------

fn check_libz(r: &mut Report) {
    let ver = cstr(unsafe { libz_sys::zlibVersion() });
    let data = b"123456789";
    let crc = unsafe { libz_sys::crc32(0, data.as_ptr(), data.len() as libz_sys::uInt) };
    assert_eq!(crc, 0xcbf4_3926);
    r.line("libz-sys", format!("zlibVersion={} crc32(123456789)={:08x}", ver, crc));
}

fn check_bzip2(r: &mut Report) {
    use bzip2_sys::*;
    let input = pattern(64 * 1024);
    let mut compressed = vec![0u8; input.len() + input.len() / 100 + 600];
    let clen;
    unsafe {
        let mut s: bz_stream = std::mem::zeroed();
        assert_eq!(BZ2_bzCompressInit(&mut s, 9, 0, 30), BZ_OK);
        s.next_in = input.as_ptr() as *mut c_char;
        s.avail_in = input.len() as c_uint;
        s.next_out = compressed.as_mut_ptr() as *mut c_char;
        s.avail_out = compressed.len() as c_uint;
        assert_eq!(BZ2_bzCompress(&mut s, BZ_FINISH), BZ_STREAM_END);
        clen = s.total_out_lo32 as usize;
        assert_eq!(BZ2_bzCompressEnd(&mut s), BZ_OK);
    }
    let mut out = vec![0u8; input.len()];
    unsafe {
        let mut s: bz_stream = std::mem::zeroed();
        assert_eq!(BZ2_bzDecompressInit(&mut s, 0, 0), BZ_OK);
        s.next_in = compressed.as_ptr() as *mut c_char;
        s.avail_in = clen as c_uint;
        s.next_out = out.as_mut_ptr() as *mut c_char;
        s.avail_out = out.len() as c_uint;
        assert_eq!(BZ2_bzDecompress(&mut s), BZ_STREAM_END);
        assert_eq!(s.total_out_lo32 as usize, input.len());
        assert_eq!(BZ2_bzDecompressEnd(&mut s), BZ_OK);
    }
    assert_eq!(out, input);
    let ver = cstr(unsafe { BZ2_bzlibVersion() });
    r.line("bzip2-sys", format!("version={} roundtrip 65536->{} bytes ok", ver, clen));
}

fn check_lzma(r: &mut Report) {
    let ver = cstr(unsafe { lzma_sys::lzma_version_string() });
    let data = b"123456789";
    let c32 = unsafe { lzma_sys::lzma_crc32(data.as_ptr(), data.len(), 0) };
    let c64 = unsafe { lzma_sys::lzma_crc64(data.as_ptr(), data.len(), 0) };
    assert_eq!(c32, 0xcbf4_3926);
    assert_eq!(c64, 0x995d_c9bb_df19_39fa);
    r.line("lzma-sys", format!("liblzma={} crc32={:08x} crc64={:016x}", ver, c32, c64));
}

fn check_nettle(r: &mut Report) {
    // Bindings bindgen generated from nettle's headers in nettle-sys' build
    // script, which first compiled a C probe for Ed448 with the cc crate.
    use nettle_sys::*;
    let mut ctx: sha256_ctx = unsafe { std::mem::zeroed() };
    let mut d = [0u8; 32];
    unsafe {
        nettle_sha256_init(&mut ctx);
        nettle_sha256_update(&mut ctx, 3, b"abc".as_ptr());
        nettle_sha256_digest(&mut ctx, d.len(), d.as_mut_ptr());
    }
    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    r.line("nettle-sys", format!("sha256(abc)={} cv448={}", &hex[..16], config::HAVE_CV448));
}

fn check_zstd(r: &mut Report) {
    // These bindings were generated by bindgen (libclang) in zstd-sys' build script.
    use zstd_sys::*;
    let ver = cstr(unsafe { ZSTD_versionString() });
    let input = b"oci-host-runner zstd corpus ".repeat(64);
    let bound = unsafe { ZSTD_compressBound(input.len()) };
    let mut comp = vec![0u8; bound];
    let clen = unsafe {
        ZSTD_compress(comp.as_mut_ptr() as *mut c_void, comp.len(), input.as_ptr() as *const c_void, input.len(), 3)
    };
    assert_eq!(unsafe { ZSTD_isError(clen) }, 0);
    let mut out = vec![0u8; input.len()];
    let dlen = unsafe {
        ZSTD_decompress(out.as_mut_ptr() as *mut c_void, out.len(), comp.as_ptr() as *const c_void, clen)
    };
    assert_eq!(unsafe { ZSTD_isError(dlen) }, 0);
    assert_eq!(&out[..dlen], &input[..]);
    r.line("zstd-sys", format!("ZSTD_versionString={} roundtrip {}->{} bytes ok", ver, input.len(), clen));
}

fn check_openssl(r: &mut Report) {
    use openssl_sys::*;
    openssl_sys::init();
    // OpenSSL_version/_num only exist under cfg(ossl110), EVP_Q_digest only
    // under cfg(ossl300): both cfgs come from openssl-sys' build script.
    let ver = cstr(unsafe { OpenSSL_version(OPENSSL_VERSION) });
    let num = unsafe { OpenSSL_version_num() } as u64;
    let mut md = [0u8; 32];
    let mut len: size_t = 0;
    let data = b"abc";
    let ok = unsafe {
        EVP_Q_digest(
            std::ptr::null_mut(),
            b"SHA256\0".as_ptr() as *const c_char,
            std::ptr::null(),
            data.as_ptr() as *const c_void,
            data.len(),
            md.as_mut_ptr(),
            &mut len,
        )
    };
    assert_eq!(ok, 1);
    assert_eq!(len, 32);
    assert_eq!(hex(&md), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    // links metadata `cargo:version_number` forwarded by our build.rs.
    let dep = env!("OHR_DEP_OPENSSL_VERSION_NUMBER");
    let dep_num = u64::from_str_radix(dep, 16).expect("DEP_OPENSSL_VERSION_NUMBER is hex");
    // Headers (build time) and library (run time) must agree on major.minor.
    assert_eq!(dep_num >> 20, num >> 20, "DEP_OPENSSL_VERSION_NUMBER vs OpenSSL_version_num");
    r.line(
        "openssl-sys",
        format!("{} sha256(abc)={}.. DEP_OPENSSL_VERSION_NUMBER={}", ver, &hex(&md)[..16], dep),
    );
}

fn check_sqlite(r: &mut Report) {
    use libsqlite3_sys::*;
    let ver = cstr(unsafe { sqlite3_libversion() });
    let mut db: *mut sqlite3 = std::ptr::null_mut();
    let answer;
    unsafe {
        assert_eq!(sqlite3_open(b":memory:\0".as_ptr() as *const c_char, &mut db), SQLITE_OK);
        let mut stmt: *mut sqlite3_stmt = std::ptr::null_mut();
        let sql = b"SELECT 6 * 7\0";
        assert_eq!(
            sqlite3_prepare_v2(db, sql.as_ptr() as *const c_char, -1, &mut stmt, std::ptr::null_mut()),
            SQLITE_OK
        );
        assert_eq!(sqlite3_step(stmt), SQLITE_ROW);
        answer = sqlite3_column_int(stmt, 0);
        sqlite3_finalize(stmt);
        sqlite3_close(db);
    }
    assert_eq!(answer, 42);
    r.line("libsqlite3-sys", format!("sqlite {} SELECT 6*7 = {}", ver, answer));
}

fn check_libgit2(r: &mut Report) {
    use libgit2_sys::*;
    let (mut maj, mut min, mut rev) = (0, 0, 0);
    let mut oid = git_oid { id: [0; 20] };
    let data = b"hello\n";
    let mut buf = [0 as c_char; 41];
    unsafe {
        assert!(git_libgit2_init() >= 1);
        git_libgit2_version(&mut maj, &mut min, &mut rev);
        assert_eq!(git_odb_hash(&mut oid, data.as_ptr() as *const c_void, data.len(), GIT_OBJECT_BLOB), 0);
        git_oid_tostr(buf.as_mut_ptr(), buf.len(), &oid);
        git_libgit2_shutdown();
    }
    let blob = cstr(buf.as_ptr());
    assert_eq!(blob, "ce013625030ba8dba906f756967f9e9ca394464a");
    r.line("libgit2-sys", format!("libgit2 {}.{}.{} blob(hello)={}", maj, min, rev, blob));
}

fn check_libssh2(r: &mut Report) {
    let rc = unsafe { libssh2_sys::libssh2_init(0) };
    assert_eq!(rc, 0);
    let ver = cstr(unsafe { libssh2_version(0) });
    unsafe { libssh2_sys::libssh2_exit() };
    r.line("libssh2-sys", format!("libssh2 {}", ver));
}

fn check_nghttp2(r: &mut Report) {
    let info = unsafe { libnghttp2_sys::nghttp2_version(0) };
    assert!(!info.is_null());
    let ver = cstr(unsafe { (*info).version_str });
    r.line("libnghttp2-sys", format!("nghttp2 {}", ver));
}

fn check_pq(r: &mut Report) {
    let v = unsafe { pq_sys::PQlibVersion() };
    assert!(v > 90000);
    r.line("pq-sys", format!("PQlibVersion={}", v));
}

fn check_expat(r: &mut Report) {
    let ver = cstr(unsafe { XML_ExpatVersion() });
    assert!(ver.starts_with("expat_"));
    r.line("expat-sys", ver);
}

fn check_freetype(r: &mut Report) {
    let mut lib: freetype_sys::FT_Library = std::ptr::null_mut();
    let (mut a, mut b, mut c) = (0, 0, 0);
    unsafe {
        assert_eq!(freetype_sys::FT_Init_FreeType(&mut lib), 0);
        FT_Library_Version(lib, &mut a, &mut b, &mut c);
        assert_eq!(freetype_sys::FT_Done_FreeType(lib), 0);
    }
    r.line("freetype-sys", format!("FreeType {}.{}.{}", a, b, c));
}

fn check_dbus(r: &mut Report) {
    let (mut a, mut b, mut c) = (0, 0, 0);
    unsafe { dbus_get_version(&mut a, &mut b, &mut c) };
    let sig_ok = unsafe {
        libdbus_sys::dbus_signature_validate_single(b"a{sv}\0".as_ptr() as *const c_char, std::ptr::null_mut())
    };
    assert_ne!(sig_ok, 0);
    r.line("libdbus-sys", format!("libdbus {}.{}.{} signature a{{sv}} valid", a, b, c));
}

fn check_udev(r: &mut Report) {
    let udev = unsafe { libudev_sys::udev_new() };
    assert!(!udev.is_null());
    // `udev_hwdb_new` is only declared under cfg(hwdb), which libudev-sys'
    // build script sets after test-linking a program with `rustc -l udev`.
    let hwdb = unsafe { libudev_sys::udev_hwdb_new(udev) };
    if !hwdb.is_null() {
        unsafe { libudev_sys::udev_hwdb_unref(hwdb) };
    }
    unsafe { libudev_sys::udev_unref(udev) };
    let dep = env!("OHR_DEP_LIBUDEV_HWDB");
    assert_eq!(dep, "true");
    r.line("libudev-sys", format!("udev_new ok, cfg(hwdb) api present, DEP_LIBUDEV_HWDB={}", dep));
}

// ---------------------------------------------------------------------------
// C / asm compiled by the cc crate
// ---------------------------------------------------------------------------

fn check_ring(r: &mut Report) {
    use ring::{digest, hmac};
    let d = digest::digest(&digest::SHA256, b"abc");
    let h = hex(d.as_ref());
    assert_eq!(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    let big = digest::digest(&digest::SHA512, &pattern(1 << 20));
    let key = hmac::Key::new(hmac::HMAC_SHA256, b"key");
    let tag = hmac::sign(&key, b"The quick brown fox jumps over the lazy dog");
    assert_eq!(
        hex(tag.as_ref()),
        "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    );
    r.line(
        "ring",
        format!("sha256(abc)={} sha512(1MiB)={}.. hmac ok", h, &hex(big.as_ref())[..16]),
    );
}

fn check_blake3(r: &mut Report) {
    let small = blake3::hash(b"abc");
    assert_eq!(
        small.to_hex().as_str(),
        "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
    );
    // 1 MiB: many chunks -> hash_many goes through the SIMD (cc-built) backends.
    let big = blake3::hash(&pattern(1 << 20));
    r.line("blake3", format!("blake3(abc)={} blake3(1MiB)={}..", small.to_hex(), &big.to_hex()[..16]));
}

fn check_onig(r: &mut Report) {
    let ver = cstr(unsafe { onig_sys::onig_version() });
    r.line("onig_sys", format!("bundled oniguruma {}", ver));
}

// ---------------------------------------------------------------------------
// code generation
// ---------------------------------------------------------------------------

fn check_typenum(r: &mut Report) {
    use typenum::{Prod, Unsigned, U1024, U42, U6, U7};
    type P = Prod<U6, U7>;
    // `U<N>` comes from the generic_const_mappings generated by build/main.rs.
    type G = typenum::U<100>;
    assert_eq!(<P as Unsigned>::U32, 42);
    r.line(
        "typenum",
        format!("U42={} U6*U7={} U1024={} U<100>={}", U42::U32, P::U32, U1024::U32, G::U32),
    );
}

fn check_mime_guess(r: &mut Report) {
    // The extension table is a phf map generated by mime_guess' build script.
    let rs = mime_guess::from_ext("rs").first_raw().unwrap_or("?");
    let png = mime_guess::from_ext("PNG").first_raw().unwrap_or("?");
    let json = mime_guess::from_path("a/b/c.json").first_or_octet_stream();
    assert_eq!(png, "image/png");
    r.line("mime_guess", format!("rs={} PNG={} json={}", rs, png, json));
}

fn check_crunchy(r: &mut Report) {
    // `unroll!` is written into OUT_DIR/lib.rs by crunchy's build script.
    use crunchy::unroll;
    let mut acc = [0u32; 8];
    unroll! {
        for i in 0..8 {
            acc[i] = (i as u32 + 1) * (i as u32 + 1);
        }
    }
    let sum: u32 = acc.iter().sum();
    assert_eq!(sum, 204);
    r.line("crunchy", format!("unroll! squares 1..8 sum={}", sum));
}

// ---------------------------------------------------------------------------
// rustc / autocfg / target probes
// ---------------------------------------------------------------------------

fn check_proc_macro2(r: &mut Report) {
    let ts: proc_macro2::TokenStream = "fn answer ( ) -> u32 { 6 * 7 }".parse().unwrap();
    let n = ts.clone().into_iter().count();
    r.line("proc-macro2", format!("{} tokens: {}", n, ts));
}

#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
struct Sample {
    name: String,
    big: u128, // needs serde's integer128 support (build-script cfg)
    tags: Vec<String>,
}

fn check_serde(r: &mut Report) {
    let s = Sample { name: "corpus".into(), big: u128::MAX, tags: vec!["a".into(), "b".into()] };
    let j = serde_json::to_string(&s).unwrap();
    let back: Sample = serde_json::from_str(&j).unwrap();
    assert_eq!(back, s);
    r.line("serde", format!("derive + u128 roundtrip ok ({} bytes)", j.len()));
    let v: serde_json::Value = serde_json::from_str(r#"{"b":[1,2.5,true,null],"a":"x"}"#).unwrap();
    r.line("serde_json", format!("{} pi={}", v, serde_json::to_string(&3.141592653589793f64).unwrap()));
}

fn check_libc(r: &mut Report) {
    let s = b"corpus\0";
    let n = unsafe { libc::strlen(s.as_ptr() as *const c_char) };
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::uname(&mut uts) }, 0);
    let sys = cstr(uts.sysname.as_ptr());
    r.line("libc", format!("strlen(corpus)={} uname.sysname={}", n, sys));
}

#[derive(thiserror::Error, Debug)]
enum CorpusError {
    #[error("bad value {0}")]
    Bad(u32),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

fn check_anyhow_thiserror(r: &mut Report) {
    use anyhow::Context;
    let inner: Result<(), CorpusError> = Err(CorpusError::Bad(7));
    let err = inner.context("outer step failed").unwrap_err();
    r.line("anyhow", format!("{:#}", err));
    let io: CorpusError = std::io::Error::new(std::io::ErrorKind::Other, "disk").into();
    r.line("thiserror", format!("{} / {}", CorpusError::Bad(3), io));
}

fn check_rustix(r: &mut Report) {
    // rustix' build script picks the linux_raw backend with inline asm.
    let pid = rustix::process::getpid();
    let raw = rustix::process::Pid::as_raw(Some(pid)) as u32;
    assert_eq!(raw, std::process::id());
    let uid_ok = rustix::process::getuid().as_raw() == unsafe { libc::getuid() };
    assert!(uid_ok);
    r.line("rustix", "linux_raw getpid/getuid match std/libc");
}

fn check_io_lifetimes(r: &mut Report) {
    use io_lifetimes::AsFd;
    use std::os::unix::io::AsRawFd;
    let stdin = std::io::stdin();
    let fd = stdin.as_fd().as_raw_fd();
    assert_eq!(fd, 0);
    r.line("io-lifetimes", format!("stdin.as_fd()={}", fd));
}

fn check_crossbeam(r: &mut Report) {
    use crossbeam_utils::atomic::AtomicCell;
    use crossbeam_utils::CachePadded;
    let cell = AtomicCell::new(0u64);
    let padded = CachePadded::new(0u8);
    crossbeam_utils::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|_| {
                for _ in 0..1000 {
                    cell.fetch_add(1);
                }
            });
        }
    })
    .unwrap();
    assert_eq!(cell.load(), 4000);
    r.line(
        "crossbeam-utils",
        format!(
            "AtomicCell<u64> lock_free={} scoped sum={} CachePadded align={}",
            AtomicCell::<u64>::is_lock_free(),
            cell.load(),
            std::mem::align_of_val(&padded)
        ),
    );
}

fn check_num(r: &mut Report) {
    use num_integer::Integer;
    use num_traits::{Bounded, Float, One};
    // i128 impls exist only under cfg(has_i128) from the autocfg build scripts.
    let max = <i128 as Bounded>::max_value();
    r.line("num-traits", format!("i128::max={} sqrt(2)={:.6}", max, Float::sqrt(2.0f64)));
    let g = 1_234_567_890_123_456_789_012i128.gcd(&987_654_321_098_765_432_100i128);
    r.line("num-integer", format!("gcd_i128={} lcm(12,18)={}", g, 12u32.lcm(&18)));
    let mut f = num_bigint::BigUint::one();
    for i in 1..=30u32 {
        f *= i;
    }
    assert_eq!(f.to_string(), "265252859812191058636308480000000");
    r.line("num-bigint", format!("30!={} bits={}", f, f.bits()));
}

fn check_semver(r: &mut Report) {
    let v = semver::Version::parse("1.95.0-beta.2+build.7").unwrap();
    let req = semver::VersionReq::parse(">=1.63, <2").unwrap();
    let plain = semver::Version::parse("1.95.0").unwrap();
    r.line("semver", format!("{} pre={} matches(>=1.63,<2) {}={}", v, v.pre, plain, req.matches(&plain)));
}

fn check_generic_array(r: &mut Report) {
    use generic_array::{arr, GenericArray};
    let a: GenericArray<u32, typenum::U4> = arr![u32; 1, 2, 3, 4];
    let b = GenericArray::<u32, typenum::U4>::from([10, 20, 30, 40]);
    let dot: u32 = a.iter().zip(b.iter()).map(|(x, y)| x * y).sum();
    r.line("generic-array", format!("len={} dot={}", a.len(), dot));
}

fn check_indexmap(r: &mut Report) {
    // IndexMap::new() only exists under cfg(has_std) from indexmap's autocfg probe.
    let mut m = indexmap::IndexMap::new();
    for k in ["zeta", "alpha", "mid", "alpha"] {
        *m.entry(k).or_insert(0) += 1;
    }
    let order: Vec<String> = m.iter().map(|(k, v)| format!("{}={}", k, v)).collect();
    r.line("indexmap", format!("insertion order [{}]", order.join(",")));
}

struct RawSpin(std::sync::atomic::AtomicBool);

unsafe impl lock_api::RawMutex for RawSpin {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: RawSpin = RawSpin(std::sync::atomic::AtomicBool::new(false));
    type GuardMarker = lock_api::GuardSend;
    fn lock(&self) {
        while !self.try_lock() {
            std::hint::spin_loop();
        }
    }
    fn try_lock(&self) -> bool {
        use std::sync::atomic::Ordering;
        self.0.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok()
    }
    unsafe fn unlock(&self) {
        self.0.store(false, std::sync::atomic::Ordering::Release);
    }
}

// `Mutex::new` is a `const fn` only under cfg(has_const_fn_trait_bound),
// which lock_api's autocfg build script sets.
static SPIN: lock_api::Mutex<RawSpin, u32> = lock_api::Mutex::new(0);

fn check_locks(r: &mut Report) {
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..250 {
                    *SPIN.lock() += 1;
                }
            });
        }
    });
    r.line("lock_api", format!("static const-new Mutex count={}", *SPIN.lock()));
    let key = &SPIN as *const _ as usize;
    let woke = unsafe { parking_lot_core::unpark_all(key, parking_lot_core::DEFAULT_UNPARK_TOKEN) };
    let mut spin = parking_lot_core::SpinWait::new();
    let spun = spin.spin();
    r.line("parking_lot_core", format!("unpark_all(no waiters)={} spin_wait={}", woke, spun));
}

fn check_httparse(r: &mut Report) {
    let mut headers = [httparse::EMPTY_HEADER; 8];
    let mut req = httparse::Request::new(&mut headers);
    let buf = b"GET /v2/library/debian/manifests/bookworm HTTP/1.1\r\nHost: registry.local\r\nAccept: application/vnd.oci.image.manifest.v1+json\r\n\r\n";
    let status = req.parse(buf).unwrap();
    assert!(status.is_complete());
    r.line(
        "httparse",
        format!(
            "{} {} HTTP/1.{} headers={}",
            req.method.unwrap(),
            req.path.unwrap(),
            req.version.unwrap(),
            req.headers.len()
        ),
    );
}

fn check_memchr(r: &mut Report) {
    let hay = pattern(1 << 16);
    let pos = memchr::memchr(0xff, &hay);
    let rpos = memchr::memrchr(0x00, &hay);
    let count = memchr::memchr_iter(b'\n', &hay).count();
    r.line("memchr", format!("memchr(ff)={:?} memrchr(00)={:?} count(\\n)={}", pos, rpos, count));
}

fn check_crc32fast(r: &mut Report) {
    let c = crc32fast::hash(b"123456789");
    assert_eq!(c, 0xcbf4_3926);
    let big = crc32fast::hash(&pattern(1 << 20));
    // Cross-check the (SIMD, cfg-enabled) Rust implementation against zlib.
    let data = pattern(1 << 20);
    let z = unsafe { libz_sys::crc32(0, data.as_ptr(), data.len() as libz_sys::uInt) };
    assert_eq!(big as libz_sys::uLong, z);
    r.line("crc32fast", format!("crc32(123456789)={:08x} crc32(1MiB)={:08x} == zlib", c, big));
}

fn check_ahash(r: &mut Report) {
    use std::hash::{BuildHasher, Hash, Hasher};
    // Fixed seeds: the value depends only on which algorithm the build
    // script's cfgs (folded_multiply, ...) selected.
    let rs = ahash::RandomState::with_seeds(1, 2, 3, 4);
    let mut h = rs.build_hasher();
    "oci-host-runner".hash(&mut h);
    let v = h.finish();
    let mut set = ahash::AHashSet::with_hasher(ahash::RandomState::with_seeds(1, 2, 3, 4));
    set.insert(1u32);
    set.insert(2);
    set.insert(1);
    r.line("ahash", format!("with_seeds(1,2,3,4) hash={:016x} set.len={}", v, set.len()));
}

#[repr(C)]
struct Packet {
    tag: u8,
    len: u32,
    payload: [u16; 3],
    crc: u64,
}

fn check_memoffset(r: &mut Report) {
    let o = (
        memoffset::offset_of!(Packet, tag),
        memoffset::offset_of!(Packet, len),
        memoffset::offset_of!(Packet, payload),
        memoffset::offset_of!(Packet, crc),
    );
    assert_eq!(o, (0, 4, 8, 16));
    r.line("memoffset", format!("Packet offsets tag={} len={} payload={} crc={}", o.0, o.1, o.2, o.3));
}

struct CaptureLogger(std::sync::Mutex<Vec<String>>);

impl log::Log for CaptureLogger {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= log::Level::Info
    }
    fn log(&self, rec: &log::Record) {
        if self.enabled(rec.metadata()) {
            self.0.lock().unwrap().push(format!("{} {}", rec.level(), rec.args()));
        }
    }
    fn flush(&self) {}
}

static LOGGER: CaptureLogger = CaptureLogger(std::sync::Mutex::new(Vec::new()));

fn check_log(r: &mut Report) {
    // set_logger needs cfg(atomic_cas) from log's build script.
    log::set_logger(&LOGGER).unwrap();
    log::set_max_level(log::LevelFilter::Info);
    log::info!("hello from {}", "corpus");
    log::debug!("filtered out");
    let got = LOGGER.0.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    r.line("log", format!("captured [{}]", got.join(";")));
}

fn check_ryu(r: &mut Report) {
    let mut b = ryu::Buffer::new();
    let a = b.format(1.5e300).to_string();
    let c = b.format(0.1f32 + 0.2f32).to_string();
    let d = b.format(std::f64::consts::E).to_string();
    r.line("ryu", format!("{} {} {}", a, c, d));
}

fn check_unicase(r: &mut Report) {
    use unicase::UniCase;
    let eq = UniCase::new("Content-TYPE") == UniCase::new("content-type");
    let eq_uni = UniCase::unicode("ΣΊΣΥΦΟΣ") == UniCase::unicode("σίσυφος");
    // const constructor exists under cfg(__unicase__const_fns).
    const ASCII: UniCase<&str> = UniCase::ascii("Accept");
    assert!(eq && eq_uni);
    r.line("unicase", format!("ascii eq={} unicode eq={} const={}", eq, eq_uni, ASCII));
}

fn check_rayon_core(r: &mut Report) {
    let pool = rayon_core::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    let (a, b) = pool.install(|| {
        rayon_core::join(|| (1..=500u64).sum::<u64>(), || (501..=1000u64).sum::<u64>())
    });
    r.line("rayon-core", format!("join sums {}+{}={} threads={}", a, b, a + b, pool.current_num_threads()));
}

fn main() {
    let mut r = Report { lines: Vec::new() };

    // pkg-config / system libraries
    check_libz(&mut r);
    check_bzip2(&mut r);
    check_lzma(&mut r);
    check_zstd(&mut r);
    check_nettle(&mut r);
    check_openssl(&mut r);
    check_sqlite(&mut r);
    check_libgit2(&mut r);
    check_libssh2(&mut r);
    check_nghttp2(&mut r);
    check_pq(&mut r);
    check_expat(&mut r);
    check_freetype(&mut r);
    check_dbus(&mut r);
    check_udev(&mut r);
    // cc-compiled C / asm
    check_ring(&mut r);
    check_blake3(&mut r);
    check_onig(&mut r);
    r.line("ohr-ccdep (path dep, cc)", format!("mix(7)={:08x}", ohr_ccdep::mix(7)));
    // code generation
    check_typenum(&mut r);
    check_mime_guess(&mut r);
    check_crunchy(&mut r);
    // rustc / autocfg / target probes
    check_proc_macro2(&mut r);
    check_serde(&mut r);
    check_libc(&mut r);
    check_anyhow_thiserror(&mut r);
    check_rustix(&mut r);
    check_io_lifetimes(&mut r);
    check_crossbeam(&mut r);
    check_num(&mut r);
    check_semver(&mut r);
    check_generic_array(&mut r);
    check_indexmap(&mut r);
    check_locks(&mut r);
    check_httparse(&mut r);
    check_memchr(&mut r);
    check_crc32fast(&mut r);
    check_ahash(&mut r);
    check_memoffset(&mut r);
    check_log(&mut r);
    check_ryu(&mut r);
    check_unicase(&mut r);
    check_rayon_core(&mut r);

    #[cfg(ohr_dep_openssl)]
    let dep = "links metadata ok";
    #[cfg(not(ohr_dep_openssl))]
    let dep = "links metadata MISSING";
    r.line("ohr-corpus build.rs", dep);
    assert_eq!(dep, "links metadata ok");

    // Every line except our own build.rs line is one crate.
    let n = r.lines.len() - 1;
    println!("corpus: {} crates ok", n);
}

// The later step a planted symlink aims at: the host's rustc reads
// OUT_DIR/leak.txt while compiling this file.  If the link survived, the
// file it points to ends up in this binary.
fn main() {
    print!("{}", include_str!(concat!(env!("OUT_DIR"), "/leak.txt")));
}

include!(concat!(env!("OUT_DIR"), "/generated.rs"));

fn main() {
    let list: Vec<String> = PRIMES.iter().map(u32::to_string).collect();
    println!("codegen: primes={} sum={}", list.join(","), primes_sum());
}

fn main() {
    // The metadata must agree with what the provider crate itself exports.
    assert_eq!(env!("PROVIDER_VERSION"), links_provider::VERSION);
    println!(
        "links: provider version={} header={}",
        env!("PROVIDER_VERSION"),
        env!("PROVIDER_HEADER_LINE")
    );
}

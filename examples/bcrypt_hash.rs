//! Prints the bcrypt hash of a password read from standard input, for the
//! `basic_auth_users` of a `web.config.yml` (as `htpasswd -nBC 10 ""` does):
//!
//! ```not_rust
//! printf %s "$PASSWORD" | cargo run -q --example bcrypt_hash
//! printf %s "$PASSWORD" | cargo run -q --example bcrypt_hash -- 12   # cost 12
//! ```
//!
//! The password is read from standard input, not from the arguments, so
//! that it shows in no process list. A trailing newline is not part of it.

use std::io::Read;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cost = match std::env::args().nth(1) {
        Some(cost) => cost
            .parse()
            .map_err(|_| "the cost is a number from 4 to 31")?,
        None => bcrypt::DEFAULT_COST,
    };
    let mut password = String::new();
    std::io::stdin().read_to_string(&mut password)?;
    let password = password.strip_suffix('\n').unwrap_or(&password);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        return Err("no password on standard input".into());
    }
    println!("{}", bcrypt::hash(password, cost)?);
    Ok(())
}

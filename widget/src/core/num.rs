//! PURE: integers as decimal text, by hand: `to_string()` would link `core::fmt` (its
//! formatter, padding and digit tables, ~3 KB of wasm) for the three numbers the widget writes
//! (a status code in a console line, a popup's position, a width in pixels).

/// `n` in decimal, with a `-` when negative.
pub fn decimal(n: i32) -> String {
    let mut digits = Vec::new();
    let mut m = n.unsigned_abs();
    loop {
        digits.push(b'0' + (m % 10) as u8);
        m /= 10;
        if m == 0 {
            break;
        }
    }
    if n < 0 {
        digits.push(b'-');
    }
    digits.iter().rev().map(|&d| char::from(d)).collect()
}

#[cfg(test)]
mod tests {
    use super::decimal;

    #[test]
    fn like_to_string() {
        for n in [0, 7, 10, 404, 65_535, -1, -320, i32::MAX, i32::MIN] {
            assert_eq!(decimal(n), n.to_string());
        }
    }
}

//! Bijections of the person index: ids and handle suffixes are permutations of the index keyed by the
//! seed, so they are unique, depend on nothing but (seed, index), and lead back to the index without a
//! lookup table.

use crate::dice::mix;

pub(crate) fn key64(seed: u64) -> u64 {
    mix(seed ^ 0x1d5)
}

pub(crate) fn key32(seed: u64) -> u32 {
    mix(seed ^ 0x4a7d) as u32
}

const M64: [u64; 2] = [0x9e37_79b9_7f4a_7c15, 0xc2b2_ae3d_27d4_eb4f];
const M32: [u32; 2] = [0x85eb_ca6b, 0xc2b2_ae35];

const fn inverse64(m: u64) -> u64 {
    let mut x = m;
    let mut i = 0;
    while i < 5 {
        x = x.wrapping_mul(2u64.wrapping_sub(m.wrapping_mul(x)));
        i += 1;
    }
    x
}

const fn inverse32(m: u32) -> u32 {
    let mut x = m;
    let mut i = 0;
    while i < 4 {
        x = x.wrapping_mul(2u32.wrapping_sub(m.wrapping_mul(x)));
        i += 1;
    }
    x
}

fn unxorshift64(y: u64, s: u32) -> u64 {
    let mut x = y;
    let mut shift = s;
    while shift < 64 {
        x ^= y >> shift;
        shift += s;
    }
    x
}

fn unxorshift32(y: u32, s: u32) -> u32 {
    let mut x = y;
    let mut shift = s;
    while shift < 32 {
        x ^= y >> shift;
        shift += s;
    }
    x
}

fn permute64(key: u64, x: u64) -> u64 {
    let mut x = (x ^ key).wrapping_mul(M64[0]);
    x ^= x >> 32;
    x = x.wrapping_mul(M64[1]);
    x ^= x >> 29;
    x.wrapping_add(key.rotate_left(17))
}

pub(crate) fn unpermute64(key: u64, y: u64) -> u64 {
    let mut x = unxorshift64(y.wrapping_sub(key.rotate_left(17)), 29);
    x = unxorshift64(x.wrapping_mul(inverse64(M64[1])), 32);
    x.wrapping_mul(inverse64(M64[0])) ^ key
}

pub(crate) fn permute32(key: u32, x: u32) -> u32 {
    let mut x = (x ^ key).wrapping_mul(M32[0]);
    x ^= x >> 16;
    x = x.wrapping_mul(M32[1]);
    x ^= x >> 13;
    x.wrapping_add(key.rotate_left(7))
}

pub(crate) fn unpermute32(key: u32, y: u32) -> u32 {
    let mut x = unxorshift32(y.wrapping_sub(key.rotate_left(7)), 13);
    x = unxorshift32(x.wrapping_mul(inverse32(M32[1])), 16);
    x.wrapping_mul(inverse32(M32[0])) ^ key
}

pub(crate) fn person_id(seed: u64, index: u64) -> u64 {
    permute64(key64(seed), index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_invert() {
        for seed in [0, 1, 42, u64::MAX] {
            for x in [0, 1, 2, 3, 4, 1000, 19_999, u64::from(u32::MAX), u64::MAX] {
                assert_eq!(unpermute64(key64(seed), permute64(key64(seed), x)), x);
                let x32 = x as u32;
                assert_eq!(unpermute32(key32(seed), permute32(key32(seed), x32)), x32);
            }
        }
    }
}

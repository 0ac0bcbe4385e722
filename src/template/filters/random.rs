//! `random` and `shuffle`: with a `seed`, the same choices as Ansible's, which makes them with
//! Python's `random.Random(seed)` (a Mersenne Twister seeded as CPython seeds it). Roles use a
//! seed to spread cron minutes over hosts (`60 | random(seed=inventory_hostname)`): another
//! generator would move every job. Without a seed the choice is any, as with Ansible's
//! `SystemRandom`.

use super::*;
use sha2::Sha512;

/// CPython's `random.Random`: MT19937 with `init_by_array` seeding.
struct PythonRandom {
    state: [u32; 624],
    index: usize,
}

impl PythonRandom {
    /// `random.Random(seed)` for an integer seed (its absolute value is used).
    fn from_int(seed: i128) -> PythonRandom {
        let mut magnitude = seed.unsigned_abs();
        let mut key = Vec::new();
        while magnitude > 0 {
            key.push(magnitude as u32);
            magnitude >>= 32;
        }
        PythonRandom::from_key(&key)
    }

    /// `random.Random(seed)` for a string seed (version 2): the integer of the text's UTF-8
    /// bytes followed by their SHA-512, big-endian.
    fn from_str(seed: &str) -> PythonRandom {
        let mut bytes = seed.as_bytes().to_vec();
        bytes.extend_from_slice(&Sha512::digest(seed.as_bytes()));
        // 32-bit words of the big-endian number, least significant first.
        let mut key = Vec::with_capacity(bytes.len() / 4 + 1);
        let mut end = bytes.len();
        while end > 0 {
            let start = end.saturating_sub(4);
            let word = bytes[start..end]
                .iter()
                .fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
            key.push(word);
            end = start;
        }
        while key.len() > 1 && key.last() == Some(&0) {
            key.pop();
        }
        PythonRandom::from_key(&key)
    }

    fn from_key(key: &[u32]) -> PythonRandom {
        let key: &[u32] = if key.is_empty() { &[0] } else { key };
        let mut mt = [0u32; 624];
        mt[0] = 19_650_218;
        for i in 1..624 {
            mt[i] = 1_812_433_253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..624.max(key.len()) {
            mt[i] = (mt[i] ^ (mt[i - 1] ^ (mt[i - 1] >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= 624 {
                mt[0] = mt[623];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..623 {
            mt[i] =
                (mt[i] ^ (mt[i - 1] ^ (mt[i - 1] >> 30)).wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= 624 {
                mt[0] = mt[623];
                i = 1;
            }
        }
        mt[0] = 0x8000_0000;
        PythonRandom {
            state: mt,
            index: 624,
        }
    }

    fn next_u32(&mut self) -> u32 {
        if self.index >= 624 {
            for k in 0..624 {
                let y = (self.state[k] & 0x8000_0000) | (self.state[(k + 1) % 624] & 0x7fff_ffff);
                let mut next = self.state[(k + 397) % 624] ^ (y >> 1);
                if y & 1 != 0 {
                    next ^= 0x9908_b0df;
                }
                self.state[k] = next;
            }
            self.index = 0;
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `getrandbits(k)` for `k` up to 64.
    fn bits(&mut self, k: u32) -> u64 {
        let mut out = 0u64;
        let mut shift = 0;
        let mut left = k;
        while left > 0 {
            let mut word = u64::from(self.next_u32());
            if left < 32 {
                word >>= 32 - left;
            }
            out |= word << shift;
            shift += 32;
            left = left.saturating_sub(32);
        }
        out
    }

    /// `_randbelow(n)`: rejection sampling over `n.bit_length()` bits.
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let k = 64 - n.leading_zeros();
        loop {
            let r = self.bits(k);
            if r < n {
                return r;
            }
        }
    }
}

/// The generator for a `seed` argument, or a fresh one seeded from the clock.
fn generator(seed: Option<&Value>) -> Result<PythonRandom, Error> {
    Ok(match seed {
        None => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            PythonRandom::from_int(nanos as i128 ^ i128::from(std::process::id()))
        }
        Some(seed) if seed.is_none() => generator(None)?,
        Some(seed) => match seed.as_str() {
            Some(text) => PythonRandom::from_str(text),
            None => match seed.as_i64() {
                Some(number) => PythonRandom::from_int(i128::from(number)),
                None => {
                    return Err(invalid(format!(
                        "random: a seed must be a string or an integer, not {}",
                        json_to_python_str(&json_of(seed)?)
                    )))
                }
            },
        },
    })
}

/// Ansible's `random(end, start=None, step=None, seed=None)`: a number in
/// `range(start, end, step)`, or an item of a list.
pub(super) fn random(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let start = kwargs.get::<Option<i64>>("start")?.unwrap_or(0);
    let step = kwargs.get::<Option<i64>>("step")?.unwrap_or(1);
    let seed = kwargs.get::<Option<Value>>("seed")?;
    kwargs.assert_all_used()?;
    let mut rng = generator(seed.as_ref())?;
    if let Some(end) = value.as_i64().filter(|_| value.kind() == ValueKind::Number) {
        // Python's `randrange(start, end, step)`.
        if step == 0 {
            return Err(invalid("random: step must not be zero"));
        }
        let width = end - start;
        let count = if step > 0 {
            (width + step - 1).div_euclid(step)
        } else {
            (width + step + 1).div_euclid(step)
        };
        if count <= 0 {
            return Err(invalid(format!("random: empty range ({start}, {end}, {step})")));
        }
        let pick = rng.below(count as u64) as i64;
        return Ok(Value::from(start + step * pick));
    }
    if value.kind() == ValueKind::String || value.kind() == ValueKind::Seq {
        if start != 0 || step != 1 {
            return Err(invalid(
                "random: start and step can only be used with integer values",
            ));
        }
        let items: Vec<Value> = value.try_iter()?.collect();
        if items.is_empty() {
            return Err(invalid("random: cannot choose from an empty sequence"));
        }
        return Ok(items[rng.below(items.len() as u64) as usize].clone());
    }
    Err(invalid(format!(
        "random: expected an integer or a list, got {}",
        json_to_python_str(&json_of(value)?)
    )))
}

/// Ansible's `shuffle(seed=None)`: Python's `Random.shuffle` of the list.
pub(super) fn shuffle(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let seed = kwargs.get::<Option<Value>>("seed")?;
    kwargs.assert_all_used()?;
    let mut rng = generator(seed.as_ref())?;
    let mut items: Vec<Value> = value.try_iter()?.collect();
    for i in (1..items.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        items.swap(i, j);
    }
    Ok(Value::from(items))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_like_cpython() {
        // CPython's random.Random(seed).getrandbits(32) for 42, 0 and 'x'.
        assert_eq!(PythonRandom::from_int(42).next_u32(), 2_746_317_213);
        assert_eq!(PythonRandom::from_int(0).next_u32(), 3_626_764_237);
        assert_eq!(PythonRandom::from_str("x").next_u32(), 2_709_212_627);
    }
}

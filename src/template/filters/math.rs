//! Numbers: Jinja2's `sum` (with `attribute` and `start`), Ansible's `pow`, `root`, `log` and
//! `human_readable`.

use super::*;

fn number(value: &Value, filter: &str) -> Result<f64, Error> {
    f64::try_from(value.clone()).map_err(|_| {
        invalid(format!(
            "{filter}: can only be used on numbers, not {}",
            value_to_python_str(value).unwrap_or_default()
        ))
    })
}

/// Jinja2's `sum(iterable, attribute=None, start=0)`.
pub(super) fn sum(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let attribute = kwargs.get::<Option<Value>>("attribute")?;
    let start = kwargs.get::<Option<Value>>("start")?.unwrap_or(Value::from(0));
    kwargs.assert_all_used()?;
    let mut total = start;
    for item in value.try_iter()? {
        let item = match &attribute {
            Some(path) => match path.as_str() {
                Some(path) => path
                    .split('.')
                    .try_fold(item, |v, part| match part.parse::<usize>() {
                        Ok(index) if v.kind() == ValueKind::Seq => v.get_item(&Value::from(index)),
                        _ => v.get_attr(part),
                    })?,
                None => item.get_item(path)?,
            },
            None => item,
        };
        total = add_values(&total, &item)?;
    }
    Ok(total)
}

/// `a + b` for numbers, as Python adds them (integers stay integers).
fn add_values(a: &Value, b: &Value) -> Result<Value, Error> {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) if a.is_integer() && b.is_integer() => x
            .checked_add(y)
            .map(Value::from)
            .ok_or_else(|| invalid("sum: integer overflow")),
        _ => Ok(Value::from(number(a, "sum")? + number(b, "sum")?)),
    }
}

/// Ansible's `pow(x)`: `math.pow`, always a float.
pub(super) fn pow(value: &Value, exponent: &Value) -> Result<f64, Error> {
    Ok(number(value, "pow")?.powf(number(exponent, "pow")?))
}

/// Ansible's `root(base=2)`: the square root, or `x ** (1/base)`.
pub(super) fn root(value: &Value, base: Option<Value>) -> Result<f64, Error> {
    let x = number(value, "root")?;
    Ok(match base {
        None => x.sqrt(),
        Some(base) if number(&base, "root")? == 2.0 => x.sqrt(),
        Some(base) => x.powf(1.0 / number(&base, "root")?),
    })
}

/// Ansible's `log(base=e)`.
pub(super) fn log(value: &Value, base: Option<Value>) -> Result<f64, Error> {
    let x = number(value, "log")?;
    Ok(match base {
        None => x.ln(),
        Some(base) if number(&base, "log")? == 10.0 => x.log10(),
        Some(base) => x.ln() / number(&base, "log")?.ln(),
    })
}

/// Ansible's `human_readable(isbits=False, unit=None)`: `1.00 KB`.
pub(super) fn human_readable(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    let isbits = kwargs.get::<Option<bool>>("isbits")?.unwrap_or(false);
    let unit = kwargs.get::<Option<String>>("unit")?;
    kwargs.assert_all_used()?;
    let size = number(value, "human_readable")?;
    const RANGES: [(&str, f64); 9] = [
        ("Y", 1_208_925_819_614_629_174_706_176.0),
        ("Z", 1_180_591_620_717_411_303_424.0),
        ("E", 1_152_921_504_606_846_976.0),
        ("P", 1_125_899_906_842_624.0),
        ("T", 1_099_511_627_776.0),
        ("G", 1_073_741_824.0),
        ("M", 1_048_576.0),
        ("K", 1024.0),
        ("B", 1.0),
    ];
    let base = if isbits { "bits" } else { "Bytes" };
    let (suffix, limit) = RANGES
        .iter()
        .find(|(suffix, limit)| match &unit {
            None => size >= *limit,
            Some(unit) => unit.to_uppercase().starts_with(suffix),
        })
        .copied()
        .unwrap_or(("B", 1.0));
    let suffix = if limit == 1.0 {
        base.to_string()
    } else {
        format!("{suffix}{}", &base[..1])
    };
    Ok(format!("{:.2} {suffix}", size / limit))
}

/// Jinja2's `min`/`max(case_sensitive=False, attribute=None)`: the first smallest (largest)
/// item, strings compared without case unless asked.
fn extreme(value: &Value, kwargs: Kwargs, largest: bool) -> Result<Value, Error> {
    let case_sensitive = kwargs.get::<Option<bool>>("case_sensitive")?.unwrap_or(false);
    let attribute = kwargs.get::<Option<String>>("attribute")?;
    kwargs.assert_all_used()?;
    let key = |item: &Value| -> Result<Value, Error> {
        let item = match &attribute {
            Some(path) => path
                .split('.')
                .try_fold(item.clone(), |v, part| match part.parse::<usize>() {
                    Ok(index) if v.kind() == ValueKind::Seq => v.get_item(&Value::from(index)),
                    _ => v.get_attr(part),
                })?,
            None => item.clone(),
        };
        Ok(match item.as_str() {
            Some(text) if !case_sensitive => Value::from(text.to_lowercase()),
            _ => item,
        })
    };
    let mut best: Option<(Value, Value)> = None;
    for item in value.try_iter()? {
        let item_key = key(&item)?;
        let better = match &best {
            None => true,
            Some((best_key, _)) if largest => item_key > *best_key,
            Some((best_key, _)) => item_key < *best_key,
        };
        if better {
            best = Some((item_key, item));
        }
    }
    Ok(best.map_or(Value::UNDEFINED, |(_, item)| item))
}

pub(super) fn min(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    extreme(value, kwargs, false)
}

pub(super) fn max(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    extreme(value, kwargs, true)
}

/// The multiplier of each unit letter, from bytes up.
const UNITS: [(char, u32, &str, &str); 9] = [
    ('B', 0, "byte", "bit"),
    ('K', 10, "kilobyte", "kilobit"),
    ('M', 20, "megabyte", "megabit"),
    ('G', 30, "gigabyte", "gigabit"),
    ('T', 40, "terabyte", "terabit"),
    ('P', 50, "petabyte", "petabit"),
    ('E', 60, "exabyte", "exabit"),
    ('Z', 70, "zetabyte", "zetabit"),
    ('Y', 80, "yottabyte", "yottabit"),
];

/// Ansible's `human_to_bytes(default_unit=None, isbits=False)`: `'1.5K'` is 1536; `KB`
/// (or `Kb` with `isbits`) and unit names are accepted, other two-letter units refused.
pub(super) fn human_to_bytes(
    value: &Value,
    default_unit: Option<String>,
    kwargs: Kwargs,
) -> Result<i64, Error> {
    let default_unit = kwargs.get::<Option<String>>("default_unit")?.or(default_unit);
    let isbits = kwargs.get::<Option<bool>>("isbits")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    let text = value_to_python_str(value)?;
    let refused = || invalid("human_to_bytes() can't interpret the input");
    let trimmed = text.trim_end();
    let number_end = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(number_end);
    let unit = unit.trim_start();
    let valid_number = number.matches('.').count() <= 1 && !number.ends_with('.') && !number.is_empty();
    if !valid_number || !unit.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(refused());
    }
    let number: f64 = number.parse().map_err(|_| refused())?;
    let unit = if unit.is_empty() {
        default_unit
    } else {
        Some(unit.to_string())
    };
    let Some(unit) = unit else {
        return Ok(number.round_ties_even() as i64);
    };
    let first = unit.chars().next().ok_or_else(refused)?.to_ascii_uppercase();
    let (letter, shift, byte_name, bit_name) = *UNITS.iter().find(|u| u.0 == first).ok_or_else(refused)?;
    if unit.chars().count() > 1 {
        let (name, short) = if isbits {
            (
                bit_name,
                format!(
                    "{}b",
                    if letter == 'B' {
                        String::new()
                    } else {
                        letter.to_string()
                    }
                ),
            )
        } else {
            (
                byte_name,
                format!(
                    "{}B",
                    if letter == 'B' {
                        String::new()
                    } else {
                        letter.to_string()
                    }
                ),
            )
        };
        if unit.to_lowercase() != name && unit != short {
            return Err(refused());
        }
    }
    Ok((number * 2f64.powi(shift as i32)).round_ties_even() as i64)
}

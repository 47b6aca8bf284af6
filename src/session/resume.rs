//! Resuming a log stream without losing or repeating lines.
//!
//! The API's `sinceTime` has second precision, while each line's timestamp
//! (`timestamps=true`) has nanoseconds. After a dropped stream devloop asks
//! again from the start of the last line's second and drops what it already
//! showed: every line older than the last one shown, and as many lines with
//! exactly its timestamp as were shown (several lines can share one).

/// A log line's timestamp: UTC, to the nanosecond.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp {
    /// (year, month, day, hour, minute, second): compares chronologically.
    civil: (u32, u32, u32, u32, u32, u32),
    nanos: u32,
}

impl Timestamp {
    /// Parses RFC 3339 as the API writes it (`2026-11-27T09:00:00.5Z`; the
    /// fraction has 0 to 9 digits, trailing zeros dropped).
    pub fn parse(text: &str) -> Option<Timestamp> {
        let b = text.as_bytes();
        if b.len() < 20
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
        {
            return None;
        }
        let num = |range: std::ops::Range<usize>| text.get(range)?.parse::<u32>().ok();
        let civil = (
            num(0..4)?,
            num(5..7)?,
            num(8..10)?,
            num(11..13)?,
            num(14..16)?,
            num(17..19)?,
        );
        let rest = &text[19..];
        let (fraction, zone) = match rest.strip_prefix('.') {
            Some(after) => {
                let digits = after
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(after.len());
                (&after[..digits], &after[digits..])
            }
            None => ("", rest),
        };
        if zone != "Z" || fraction.len() > 9 {
            return None;
        }
        let nanos = if fraction.is_empty() {
            0
        } else {
            fraction.parse::<u32>().ok()? * 10u32.pow(9 - u32::try_from(fraction.len()).ok()?)
        };
        Some(Timestamp { civil, nanos })
    }

    /// The start of this timestamp's second, as `sinceTime` takes it.
    pub fn since_time(&self) -> String {
        let (y, mo, d, h, mi, s) = self.civil;
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }
}

/// Splits a `timestamps=true` line into its timestamp and the text after it.
pub fn split_line(line: &str) -> Option<(Timestamp, &str)> {
    let (stamp, text) = line.split_once(' ').unwrap_or((line, ""));
    Some((Timestamp::parse(stamp)?, text))
}

/// What one stream has shown so far.
#[derive(Debug, Default, Clone)]
pub struct Resume {
    /// The newest timestamp shown and how many lines carried it.
    last: Option<(Timestamp, usize)>,
    /// Lines with `last`'s timestamp still to skip in the resumed stream.
    skip_at_last: usize,
}

impl Resume {
    /// `sinceTime` for the next request, if anything was shown.
    pub fn since_time(&self) -> Option<String> {
        self.last.map(|(ts, _)| ts.since_time())
    }

    /// Call when a new request starts (after a drop): lines of the boundary
    /// second will be sent again.
    pub fn restart(&mut self) {
        self.skip_at_last = self.last.map_or(0, |(_, n)| n);
    }

    /// Whether a line with timestamp `ts` is new; records it when it is.
    pub fn admit(&mut self, ts: Timestamp) -> bool {
        match self.last {
            Some((last, _)) if ts < last => false,
            Some((last, ref mut count)) if ts == last => {
                if self.skip_at_last > 0 {
                    self.skip_at_last -= 1;
                    return false;
                }
                *count += 1;
                true
            }
            _ => {
                self.last = Some((ts, 1));
                self.skip_at_last = 0;
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap_or_else(|| panic!("{s} parses"))
    }

    #[test]
    fn timestamps_compare_by_time_not_text() {
        // As text "…05.1Z" sorts after "…05.12Z"; as time it is earlier.
        assert!(ts("2026-11-27T09:00:05.1Z") < ts("2026-11-27T09:00:05.12Z"));
        assert!(ts("2026-11-27T09:00:05Z") < ts("2026-11-27T09:00:05.000000001Z"));
        assert!(ts("2026-11-27T09:00:59.999999999Z") < ts("2026-11-27T09:01:00Z"));
        assert_eq!(
            ts("2026-11-27T09:00:05.123456789Z").since_time(),
            "2026-11-27T09:00:05Z"
        );
        for bad in [
            "",
            "2026-11-27 09:00:05Z",
            "2026-11-27T09:00:05+01:00",
            "2026-11-27T09:00:05.1234567890Z",
        ] {
            assert!(Timestamp::parse(bad).is_none(), "{bad}");
        }
    }

    /// A stream shows lines, drops mid-second, and the API resends from the
    /// start of that second: the user sees every line exactly once.
    #[test]
    fn a_resumed_stream_shows_each_line_once() {
        let all = [
            "2026-11-27T09:00:04.9Z a",
            "2026-11-27T09:00:05.1Z b",
            "2026-11-27T09:00:05.2Z c1",
            "2026-11-27T09:00:05.2Z c2",
            "2026-11-27T09:00:05.2Z c3",
            "2026-11-27T09:00:05.7Z d",
            "2026-11-27T09:00:06Z e",
        ];
        let mut resume = Resume::default();
        let mut shown = Vec::new();
        // First stream: drops after c2 (c3 was not received).
        for line in &all[..4] {
            let (t, text) = split_line(line).expect("line");
            if resume.admit(t) {
                shown.push(text.to_owned());
            }
        }
        assert_eq!(resume.since_time().as_deref(), Some("2026-11-27T09:00:05Z"));
        resume.restart();
        // The API resends everything from 09:00:05.
        for line in &all[1..] {
            let (t, text) = split_line(line).expect("line");
            if resume.admit(t) {
                shown.push(text.to_owned());
            }
        }
        assert_eq!(shown, ["a", "b", "c1", "c2", "c3", "d", "e"]);
    }
}

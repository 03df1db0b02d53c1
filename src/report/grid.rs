//! How the terminal table fits a screen: the width to draw at (the
//! terminal's, else `COLUMNS`, else 100), columns never narrower than their
//! longest word (an address, a port, an id is never split), and, when a
//! table's columns cannot all fit, each row stacked as `name: value` lines.

use std::io::{self, IsTerminal, Write};

use comfy_table::{
    presets, Cell, CellAlignment, ColumnConstraint, ContentArrangement, Table, Width,
};

/// Width used when neither the terminal nor `COLUMNS` gives one.
pub(crate) const DEFAULT_WIDTH: usize = 100;
/// Narrowest width drawn at; a smaller one (a pseudo-terminal of width 0)
/// is ignored.
const MIN_WIDTH: usize = 40;
/// Widest width drawn at.
const MAX_WIDTH: usize = 400;
/// Longest word kept whole; longer ones (odd Call-IDs) are cut in the middle.
pub(crate) const MAX_WORD: usize = 48;

/// The width to draw at: the terminal's when standard output is one, else
/// `COLUMNS`, else [`DEFAULT_WIDTH`].
pub(crate) fn width() -> usize {
    let tty = io::stdout()
        .is_terminal()
        .then(terminal_size::terminal_size)
        .flatten()
        .map(|(w, _)| usize::from(w.0))
        .filter(|w| *w >= MIN_WIDTH);
    let env = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|w| *w >= MIN_WIDTH);
    tty.or(env).unwrap_or(DEFAULT_WIDTH).min(MAX_WIDTH)
}

/// `s` at most `n` characters, cut in the middle with `…` so that both
/// ends stay readable (`1a2b3c…@host.example`).
pub(crate) fn short_mid(s: &str, n: usize) -> String {
    let count = s.chars().count();
    if count <= n || n < 3 {
        return s.to_string();
    }
    let head = (n - 1) / 2;
    let tail = n - 1 - head;
    let mut t: String = s.chars().take(head).collect();
    t.push('…');
    t.extend(s.chars().skip(count - tail));
    t
}

fn words(s: &str) -> impl Iterator<Item = usize> + '_ {
    s.split_whitespace().map(|w| w.chars().count())
}

/// One section of the table: a title, column names and rows of text.
pub(crate) struct Grid {
    title: String,
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
    right: Vec<usize>,
}

impl Grid {
    pub(crate) fn new(title: impl Into<String>, header: &[&'static str]) -> Grid {
        Grid {
            title: title.into(),
            header: header.to_vec(),
            rows: Vec::new(),
            right: Vec::new(),
        }
    }

    /// Columns (by index) whose numbers are aligned right.
    pub(crate) fn right(mut self, cols: &[usize]) -> Grid {
        self.right = cols.to_vec();
        self
    }

    /// A row; words longer than [`MAX_WORD`] are cut in the middle.
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        let cells = cells
            .into_iter()
            .map(|c| {
                if words(&c).all(|w| w <= MAX_WORD) {
                    return c;
                }
                c.split('\n')
                    .map(|line| {
                        line.split(' ')
                            .map(|w| short_mid(w, MAX_WORD))
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .collect();
        self.rows.push(cells);
    }

    /// The narrowest each column can be: its longest word, header included.
    fn min_widths(&self) -> Vec<usize> {
        (0..self.header.len())
            .map(|i| {
                let head = words(self.header[i]).max().unwrap_or(1);
                self.rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .flat_map(|c| words(c))
                    .max()
                    .unwrap_or(1)
                    .max(head)
            })
            .collect()
    }

    /// Draws the section at `width`: a table when every column fits at its
    /// narrowest, else each row as stacked `name: value` lines.
    pub(crate) fn write(&self, out: &mut dyn Write, width: usize) -> io::Result<()> {
        let mins = self.min_widths();
        // Borders of the condensed preset: "│ " + " ┆ " between + " │".
        let needed = mins.iter().sum::<usize>() + 3 * mins.len() + 1;
        if needed <= width {
            self.write_table(out, width, &mins)
        } else {
            self.write_stacked(out, width)
        }
    }

    fn write_table(&self, out: &mut dyn Write, width: usize, mins: &[usize]) -> io::Result<()> {
        let mut t = Table::new();
        t.load_preset(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(u16::try_from(width).unwrap_or(u16::MAX))
            .set_header(self.header.iter().map(Cell::new));
        for row in &self.rows {
            t.add_row(row.iter().enumerate().map(|(i, c)| {
                let cell = Cell::new(c);
                if self.right.contains(&i) {
                    cell.set_alignment(CellAlignment::Right)
                } else {
                    cell
                }
            }));
        }
        let constraints = mins.iter().map(|&m| {
            // The width comfy-table constrains includes the cell's padding.
            ColumnConstraint::LowerBoundary(Width::Fixed(u16::try_from(m + 2).unwrap_or(u16::MAX)))
        });
        t.set_constraints(constraints);
        writeln!(out, "\n{}\n{t}", self.title)
    }

    fn write_stacked(&self, out: &mut dyn Write, width: usize) -> io::Result<()> {
        writeln!(out, "\n{}", self.title)?;
        let name_w = self
            .header
            .iter()
            .map(|h| h.chars().count())
            .max()
            .unwrap_or(0);
        for (n, row) in self.rows.iter().enumerate() {
            let rule = width.saturating_sub(6 + n.to_string().len()).min(40);
            writeln!(out, "── {} {}", n + 1, "─".repeat(rule))?;
            for (h, c) in self.header.iter().zip(row) {
                let mut indent = name_w + 4;
                // A word too long to stand beside the name goes below it.
                let longest = c.split_whitespace().map(|w| w.chars().count()).max();
                let below = longest.is_some_and(|l| indent + l > width);
                if below {
                    writeln!(out, "  {h:>name_w$}:")?;
                    indent = 4;
                }
                let mut first = !below;
                for line in c.split('\n') {
                    for piece in wrap(line, width.saturating_sub(indent).max(20)) {
                        if first {
                            writeln!(out, "  {h:>name_w$}: {piece}")?;
                            first = false;
                        } else {
                            writeln!(out, "{:indent$}{piece}", "")?;
                        }
                    }
                }
                if first {
                    writeln!(out, "  {h:>name_w$}:")?;
                }
            }
        }
        Ok(())
    }
}

/// `text` cut at spaces into lines of at most `width` characters (a word
/// longer than that stands alone).
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for w in text.split_whitespace() {
        let len = cur.chars().count();
        if len > 0 && len + 1 + w.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(w);
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_middle_cuts_and_wraps() {
        assert_eq!(short_mid("abcdefghij", 5), "ab…ij");
        assert_eq!(short_mid("abc", 5), "abc");
        assert_eq!(wrap("one two three", 7), vec!["one two", "three"]);
        assert_eq!(wrap("", 7), vec![""]);
        assert_eq!(
            wrap("averyverylongword x", 5),
            vec!["averyverylongword", "x"]
        );
    }

    fn render(g: &Grid, width: usize) -> String {
        let mut v = Vec::new();
        g.write(&mut v, width).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn never_splits_an_address_and_stacks_when_too_narrow() {
        let mut g = Grid::new("Flows", &["flow", "src", "dst", "what"]);
        g.row(vec![
            "1".into(),
            "192.168.100.200:50000".into(),
            "[2001:db8:1234:5678::abcd]:3478".into(),
            "a sentence long enough to wrap over several lines of the table".into(),
        ]);
        for width in [60, 80, 120] {
            let s = render(&g, width);
            assert!(s.contains("192.168.100.200:50000"), "{width}: {s}");
            assert!(
                s.contains("[2001:db8:1234:5678::abcd]:3478"),
                "{width}: {s}"
            );
            assert!(
                s.lines().all(|l| l.chars().count() <= width),
                "{width}: {s}"
            );
        }
        // Too narrow for four columns of these words: stacked.
        let s = render(&g, 50);
        assert!(s.contains("── 1"), "{s}");
        assert!(s.contains("  dst: [2001:db8:1234:5678::abcd]:3478"), "{s}");
        assert!(s.lines().all(|l| l.chars().count() <= 50), "{s}");
    }
}

//! The progress bar `validate-logs` draws on stderr when stderr is a terminal.

use std::io::Write;

const WIDTH: usize = 30;

/// One frame of the bar for `done` of `total` files: drawn over the previous one (`\r`), and
/// erased once every known file is done, so the report that follows starts on a clean line.
pub fn frame(done: usize, total: usize) -> String {
    let total = total.max(done).max(1);
    let filled = done.min(total) * WIDTH / total;
    let mut s = format!(
        "\r[{}{}] {done}/{total} files",
        "#".repeat(filled),
        " ".repeat(WIDTH - filled)
    );
    if done >= total {
        // Blank out exactly what was just drawn (everything after the leading `\r`).
        let drawn = s.len() - 1;
        s.push('\r');
        s.push_str(&" ".repeat(drawn));
        s.push('\r');
    }
    s
}

/// Draws a frame on stderr (errors writing to the terminal are not worth failing a validation).
pub fn draw(done: usize, total: usize) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(frame(done, total).as_bytes());
    let _ = err.flush();
}

#[cfg(test)]
mod tests {
    use super::frame;

    #[test]
    fn frames_fill_in_proportion_and_the_last_one_erases_the_bar() {
        assert_eq!(frame(0, 10), format!("\r[{}] 0/10 files", " ".repeat(30)));
        assert_eq!(
            frame(5, 10),
            format!("\r[{}{}] 5/10 files", "#".repeat(15), " ".repeat(15))
        );
        let last = frame(10, 10);
        let (bar, erase) = last.split_at(last.find("files").unwrap() + 5);
        assert_eq!(bar, format!("\r[{}] 10/10 files", "#".repeat(30)));
        // The eraser covers the whole bar line and returns to its start.
        assert!(erase.starts_with('\r') && erase.ends_with('\r'));
        assert!(erase.trim_matches('\r').chars().all(|c| c == ' '));
        assert!(erase.len() - 2 >= bar.len() - 1);
    }

    #[test]
    fn more_done_than_known_and_nothing_known_do_not_break_the_bar() {
        // Files are counted as they are listed; a frame may come before a listing is counted.
        assert!(frame(7, 5).contains(&format!("[{}] 7/7 files", "#".repeat(30))));
        assert_eq!(frame(0, 0), format!("\r[{}] 0/1 files", " ".repeat(30)));
    }
}

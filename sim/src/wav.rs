//! `--wav`: what the caller hears, spoken by espeak-ng, so a person can
//! listen to a flow's greeting without a phone. Text only: audio URLs are
//! named, not downloaded.

use std::path::Path;
use std::process::Command;

/// Why no WAV was written.
#[derive(Debug, thiserror::Error)]
pub enum WavError {
    /// espeak-ng is not installed.
    #[error("espeak-ng is not on PATH; install it (apt-get install espeak-ng) to render --wav, skipping")]
    NoEspeak,
    /// The caller heard nothing.
    #[error("the caller heard nothing to speak; no WAV written")]
    Nothing,
    /// espeak-ng failed.
    #[error("espeak-ng failed: {0}")]
    Failed(String),
}

/// Whether an executable is on PATH.
fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
}

/// The text to speak: every heard line, audio URLs replaced by a short mention.
pub fn script(heard: &[String]) -> String {
    heard
        .iter()
        .map(|h| {
            if h.starts_with("[audio ") {
                "(an audio file plays here.)".to_owned()
            } else {
                h.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ... ")
}

/// Writes `out` with espeak-ng (8 kHz is not needed: this is for people).
pub fn render(heard: &[String], out: &Path) -> Result<(), WavError> {
    if !on_path("espeak-ng") {
        return Err(WavError::NoEspeak);
    }
    let text = script(heard);
    if text.trim().is_empty() {
        return Err(WavError::Nothing);
    }
    let o = Command::new("espeak-ng")
        .arg("-w")
        .arg(out)
        .arg("--")
        .arg(&text)
        .output()
        .map_err(|e| WavError::Failed(e.to_string()))?;
    if !o.status.success() {
        return Err(WavError::Failed(
            String::from_utf8_lossy(&o.stderr).trim().to_owned(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn script_names_audio_and_joins_text() {
        let s = super::script(&["Hello.".into(), "[audio http://x/a.wav]".into()]);
        assert_eq!(s, "Hello. ... (an audio file plays here.)");
    }
}

//! Ranking a text against candidate labels.
//!
//! `local` needs no network: each label becomes a few prototype phrases (the
//! label, the label with its description, and each item of the description's
//! list), framed by a hypothesis template and embedded with the local model.
//! A label's raw score mixes its best phrase similarity with the full
//! description's; a softmax turns raw scores into scores that sum to 1.
//! (A bonus for words shared with a phrase was tried and lowered accuracy on
//! the labelled set in `core/tests/data`.) `openai` asks an
//! OpenAI-compatible chat model.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::config::OpenAiConfig;
use super::embed::{SharedEmbedder, cosine};
use crate::error::{OpError, OpResult};

/// Most labels in one call.
pub const MAX_LABELS: usize = 64;
/// Longest label or description, in bytes.
pub const MAX_LABEL_BYTES: usize = 1024;
/// Prototype vectors kept in memory.
const PHRASE_CACHE: usize = 8192;
/// Softmax temperature over raw scores.
const TEMPERATURE: f32 = 0.04;

/// A candidate label, with an optional description of what belongs to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Label {
    /// The label returned when it wins.
    pub label: String,
    /// What belongs under it, e.g. `restaurants, cafés, bars, food delivery`.
    #[serde(default)]
    pub description: Option<String>,
}

/// A label with its score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Scored {
    /// The label.
    pub label: String,
    /// Between 0 and 1; the scores of one answer sum to about 1.
    pub score: f64,
}

/// Checks labels: present, not too many, non-empty, no duplicates.
pub fn check_labels(labels: &[Label]) -> OpResult<()> {
    if labels.is_empty() {
        return Err(OpError::invalid("give at least one label (or a `prompt` with the openai provider)"));
    }
    if labels.len() > MAX_LABELS {
        return Err(OpError::invalid(format!("{} labels given; at most {MAX_LABELS}", labels.len())));
    }
    let mut seen = HashSet::new();
    for (i, l) in labels.iter().enumerate() {
        if l.label.trim().is_empty() {
            return Err(OpError::invalid(format!("labels[{i}] is empty")));
        }
        if l.label.len() > MAX_LABEL_BYTES || l.description.as_ref().is_some_and(|d| d.len() > MAX_LABEL_BYTES) {
            return Err(OpError::invalid(format!("labels[{i}] is over {MAX_LABEL_BYTES} bytes")));
        }
        if !seen.insert(l.label.trim().to_lowercase()) {
            return Err(OpError::invalid(format!("label `{}` is given twice; give each label once", l.label)));
        }
    }
    Ok(())
}

/// Checks a hypothesis template: it must hold `{}` once.
pub fn check_template(template: &str) -> OpResult<()> {
    if template.matches("{}").count() != 1 || template.len() > 256 {
        return Err(OpError::invalid(format!(
            "template `{template}` must contain `{{}}` exactly once (e.g. `an expense for {{}}`) and be at most 256 bytes"
        )));
    }
    Ok(())
}

/// The prototype phrases of a label, each put in `template`: the label, the
/// label with its description, then each item of the description's list.
fn phrases(l: &Label, template: &str) -> Vec<String> {
    let name = l.label.replace(['_', '-'], " ");
    let mut out = vec![name.clone()];
    if let Some(d) = l.description.as_deref().filter(|d| !d.trim().is_empty()) {
        out.push(format!("{name}: {d}"));
        for part in d.split([',', ';', '(', ')', '/']).map(str::trim).filter(|p| p.len() >= 3) {
            out.push(part.to_string());
        }
    }
    out.dedup();
    out.into_iter().map(|p| template.replace("{}", &p)).collect()
}

/// The local classifier: the shared model and a cache of phrase vectors.
pub struct LocalClassifier {
    embedder: Arc<SharedEmbedder>,
    cache: Mutex<HashMap<String, Vec<f32>>>,
}

impl LocalClassifier {
    /// A classifier on `embedder`.
    pub fn new(embedder: Arc<SharedEmbedder>) -> Self {
        Self { embedder, cache: Mutex::new(HashMap::new()) }
    }

    async fn vectors(&self, texts: &[String]) -> OpResult<HashMap<String, Vec<f32>>> {
        let missing: Vec<String> = {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            let mut m: Vec<String> = texts.iter().filter(|t| !cache.contains_key(*t)).cloned().collect();
            m.sort();
            m.dedup();
            m
        };
        let fresh = if missing.is_empty() { Vec::new() } else { self.embedder.embed(missing.clone()).await? };
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() + fresh.len() > PHRASE_CACHE {
            cache.clear();
        }
        cache.extend(missing.into_iter().zip(fresh));
        Ok(texts.iter().filter_map(|t| cache.get(t).map(|v| (t.clone(), v.clone()))).collect())
    }

    /// Ranks `labels` for `text`, best first. `template` frames each label
    /// phrase (`{}` for none, `an expense for {}` for receipts).
    pub async fn classify(&self, text: &str, labels: &[Label], template: &str) -> OpResult<Vec<Scored>> {
        check_labels(labels)?;
        check_template(template)?;
        let per_label: Vec<Vec<String>> = labels.iter().map(|l| phrases(l, template)).collect();
        let all: Vec<String> = per_label.iter().flatten().cloned().collect();
        let text_vec = self.embedder.embed(vec![text.to_string()]).await?.pop().unwrap_or_default();
        let vectors = self.vectors(&all).await?;
        let raw: Vec<f32> = per_label
            .iter()
            .map(|ps| {
                let sims: Vec<f32> = ps.iter().map(|p| vectors.get(p).map_or(0.0, |v| cosine(&text_vec, v))).collect();
                let best = sims.iter().copied().fold(f32::MIN, f32::max);
                // The phrase of the label with its description, when it has one.
                let full = sims.get(1).copied().unwrap_or(sims[0]);
                0.6 * best + 0.4 * full
            })
            .collect();
        Ok(softmax_ranked(labels, &raw))
    }
}

fn softmax_ranked(labels: &[Label], raw: &[f32]) -> Vec<Scored> {
    let max = raw.iter().copied().fold(f32::MIN, f32::max);
    let exps: Vec<f32> = raw.iter().map(|r| ((r - max) / TEMPERATURE).exp()).collect();
    let sum: f32 = exps.iter().sum::<f32>().max(f32::MIN_POSITIVE);
    let mut out: Vec<Scored> = labels
        .iter()
        .zip(exps)
        .map(|(l, e)| Scored { label: l.label.clone(), score: (f64::from(e / sum) * 1000.0).round() / 1000.0 })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out
}

/// Asks an OpenAI-compatible chat model. With labels it must pick among
/// them; with only a prompt it names its own labels.
pub async fn classify_openai(
    config: &OpenAiConfig,
    text: &str,
    labels: &[Label],
    prompt: Option<&str>,
) -> OpResult<Vec<Scored>> {
    let mut system = String::from(
        "You classify text. Answer with JSON only, no prose: {\"labels\": [{\"label\": string, \"score\": number between 0 and 1}]}, best first, scores summing to 1.",
    );
    if !labels.is_empty() {
        system.push_str(" Use only these labels:");
        for l in labels {
            match &l.description {
                Some(d) => system.push_str(&format!("\n- {}: {d}", l.label)),
                None => system.push_str(&format!("\n- {}", l.label)),
            }
        }
    }
    if let Some(p) = prompt {
        system.push_str("\nInstructions: ");
        system.push_str(p);
    }
    let answer = super::openai::chat(config, &system, text).await?;
    parse_answer(&answer, labels)
}

/// Reads a model's answer: the JSON asked for (possibly inside a code
/// fence), or a bare label name.
fn parse_answer(answer: &str, labels: &[Label]) -> OpResult<Vec<Scored>> {
    let trimmed = answer.trim().trim_start_matches("```json").trim_start_matches("```").trim_end_matches("```").trim();
    let known = |name: &str| -> Option<String> {
        if labels.is_empty() {
            return Some(name.trim().to_string()).filter(|n| !n.is_empty());
        }
        labels.iter().find(|l| l.label.eq_ignore_ascii_case(name.trim())).map(|l| l.label.clone())
    };
    let mut out: Vec<Scored> = Vec::new();
    if let Ok(v) = serde_json::from_str::<Value>(trimmed) {
        let items = v.get("labels").and_then(Value::as_array).cloned().unwrap_or_default();
        for item in items {
            let (name, score) = match &item {
                Value::String(s) => (s.clone(), None),
                _ => (
                    item["label"].as_str().unwrap_or_default().to_string(),
                    item["score"].as_f64().map(|s| s.clamp(0.0, 1.0)),
                ),
            };
            if let Some(label) = known(&name)
                && !out.iter().any(|o| o.label == label)
            {
                out.push(Scored { label, score: score.unwrap_or(0.0) });
            }
        }
    } else if let Some(label) = known(trimmed) {
        out.push(Scored { label, score: 1.0 });
    }
    if out.is_empty() {
        let hint = if labels.is_empty() { String::new() } else { " among the labels given".to_string() };
        let shown: String = answer.chars().take(200).collect();
        return Err(OpError::unavailable(format!("the model's answer names no label{hint}: {shown}")));
    }
    if out.iter().all(|s| s.score == 0.0) {
        let n = out.len() as f64;
        out.iter_mut().for_each(|s| s.score = 1.0 / n);
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(names: &[&str]) -> Vec<Label> {
        names.iter().map(|n| Label { label: n.to_string(), description: None }).collect()
    }

    #[test]
    fn labels_are_checked() {
        assert!(check_labels(&[]).unwrap_err().message.contains("at least one label"));
        let e = check_labels(&labels(&["food", "Food"])).unwrap_err();
        assert!(e.message.contains("twice"), "{e}");
        assert!(check_labels(&labels(&["a", " "])).unwrap_err().message.contains("labels[1]"));
    }

    #[test]
    fn model_answers_are_read_leniently_but_must_name_a_label() {
        let ls = labels(&["dining", "travel"]);
        let got = parse_answer("```json\n{\"labels\": [{\"label\": \"Travel\", \"score\": 0.9}]}\n```", &ls).unwrap();
        assert_eq!(got[0].label, "travel");
        assert_eq!(parse_answer("dining", &ls).unwrap()[0].label, "dining");
        assert!(parse_answer("{\"labels\": [\"weather\"]}", &ls).is_err());
        assert!(parse_answer("<html>oops</html>", &ls).is_err());
        let free = parse_answer("{\"labels\": [\"invoice\", \"urgent\"]}", &[]).unwrap();
        assert_eq!(free.len(), 2);
        assert_eq!(free[0].score, 0.5);
    }

    #[test]
    fn descriptions_become_phrases() {
        let l = Label { label: "dining".into(), description: Some("restaurants, cafés, food delivery".into()) };
        assert_eq!(
            phrases(&l, "{}"),
            vec!["dining", "dining: restaurants, cafés, food delivery", "restaurants", "cafés", "food delivery"]
        );
        assert_eq!(phrases(&l, "an expense for {}")[2], "an expense for restaurants");
        assert!(check_template("no slot").is_err());
        assert!(check_template("{} and {}").is_err());
    }
}

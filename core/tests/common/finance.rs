//! The Finance extension's categories, as classification labels with their
//! descriptions, shared by tests and benchmarks.
#![allow(dead_code)]

use serde_json::{Value, json};

/// The nine spending categories (all but `other`).
pub fn categories() -> Value {
    json!([
        { "label": "dining", "description": "restaurants, cafés, bars, takeaway, food delivery" },
        { "label": "groceries", "description": "supermarkets, food and household shopping" },
        { "label": "transport", "description": "taxis and ride-hailing, local public transit, fuel, parking, tolls" },
        { "label": "travel", "description": "flights, hotels, trains between cities, car rental, bookings" },
        { "label": "software", "description": "software licences, SaaS and cloud hosting or storage" },
        { "label": "utilities", "description": "electricity, gas, water, internet, phone plans" },
        { "label": "office", "description": "supplies, furniture, equipment" },
        { "label": "health", "description": "pharmacy, prescriptions, doctors, dentists" },
        { "label": "entertainment", "description": "streaming, music, games, cinema, events" },
    ])
}

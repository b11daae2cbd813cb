//! E-invoices: the machine-readable invoice a ZUGFeRD, Factur-X or
//! XRechnung PDF carries inside it, or that arrives as an XML file of its
//! own (XRechnung, Peppol).
//!
//! Such an invoice states its seller, date, total and currency exactly, where
//! reading the printed page has to guess. Two syntaxes carry them: UN/CEFACT
//! Cross Industry Invoice (ZUGFeRD 1 and 2, Factur-X, XRechnung CII) and
//! OASIS UBL 2 (XRechnung UBL, Peppol BIS). Elements are matched by local
//! name under their parents' local names, so every version of either syntax
//! reads the same way whatever prefixes it binds.

use roxmltree::{Document, Node, ParsingOptions};

use crate::dates::Date;
use crate::extract::{Extracted, Field, Verdict};
use crate::money::{self, cents};
use crate::vendor;

/// Largest XML read, in bytes: real e-invoices are tens of kilobytes.
pub const MAX_XML_BYTES: usize = 4 * 1024 * 1024;
/// Most XML nodes parsed.
const MAX_NODES: u32 = 500_000;

/// What an e-invoice states.
#[derive(Debug, Clone, PartialEq)]
pub struct EInvoice {
    /// The syntax: `CII` or `UBL`.
    pub syntax: &'static str,
    /// The seller's name.
    pub seller: Option<String>,
    /// The issue date.
    pub date: Option<Date>,
    /// The amount due with tax, in the invoice's currency.
    pub total: Option<f64>,
    /// ISO 4217 code of the invoice's currency.
    pub currency: Option<String>,
}

/// Reads an e-invoice; `None` for XML of any other kind, XML that does not
/// parse, one with a DTD (never part of an e-invoice, and the door to
/// entity expansion), or one over the size limits.
pub fn parse(xml: &str) -> Option<EInvoice> {
    invoice(&document(xml)?)
}

/// [`parse`], and the text of every element, one per line, for search (an
/// XML file's sidecar text), from one parse; empty text for XML that does
/// not parse.
pub fn parse_with_text(xml: &str) -> (Option<EInvoice>, String) {
    let Some(doc) = document(xml) else { return (None, String::new()) };
    let text = doc.descendants().filter(|n| n.is_text()).filter_map(|n| text(Some(n))).collect::<Vec<_>>().join("\n");
    (invoice(&doc), text)
}

/// The parsed document, within the size limits and without a DTD.
fn document(xml: &str) -> Option<Document<'_>> {
    if xml.len() > MAX_XML_BYTES {
        return None;
    }
    let xml = xml.strip_prefix('\u{feff}').unwrap_or(xml);
    Document::parse_with_options(xml, options()).ok()
}

/// What a parsed document states, when it is an e-invoice.
fn invoice(doc: &Document<'_>) -> Option<EInvoice> {
    let root = doc.root_element();
    let read = match root.tag_name().name() {
        "CrossIndustryInvoice" | "CrossIndustryDocument" => cii(root),
        "Invoice" | "CreditNote" => ubl(root),
        _ => return None,
    };
    (read.total.is_some() || read.seller.is_some()).then_some(read)
}

/// No DTD (never part of an e-invoice, and the door to entity expansion),
/// and a bound on the nodes parsed.
fn options<'i>() -> ParsingOptions<'i> {
    ParsingOptions { allow_dtd: false, nodes_limit: MAX_NODES, ..ParsingOptions::default() }
}

/// The first child element of `node` named `name`.
fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|n| n.is_element() && n.tag_name().name() == name)
}

/// The element at the end of `path` (local names, one per level) below
/// `node`, taking the first match at each level.
fn at<'a, 'i>(node: Node<'a, 'i>, path: &[&str]) -> Option<Node<'a, 'i>> {
    path.iter().try_fold(node, |n, name| child(n, name))
}

/// The trimmed text of an element, when it has any.
fn text(node: Option<Node<'_, '_>>) -> Option<String> {
    let t = node?.text()?.split_whitespace().collect::<Vec<_>>().join(" ");
    (!t.is_empty()).then_some(t)
}

/// An amount as XML Schema writes decimals (`1234.50`, no grouping).
fn amount(node: Node<'_, '_>) -> Option<f64> {
    let v: f64 = node.text()?.trim().parse().ok()?;
    v.is_finite().then(|| cents(v))
}

/// A three-letter currency code, upper case.
fn currency_code(s: Option<String>) -> Option<String> {
    let s = s?.to_ascii_uppercase();
    (s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase())).then_some(s)
}

/// Of the amounts named `name` below `node`, the one in `currency` (an
/// invoice in a foreign currency also states its tax in the seller's), else
/// the first.
fn amount_in(node: Node<'_, '_>, name: &str, currency: Option<&str>) -> Option<(f64, Option<String>)> {
    let all: Vec<Node<'_, '_>> = node.children().filter(|n| n.is_element() && n.tag_name().name() == name).collect();
    let pick = all
        .iter()
        .find(|n| currency.is_some_and(|c| n.attribute("currencyID").is_some_and(|a| a.eq_ignore_ascii_case(c))))
        .or_else(|| all.first())?;
    Some((amount(*pick)?, currency_code(pick.attribute("currencyID").map(str::to_string))))
}

/// The first of the amounts `names` stated under `totals` (the gross total,
/// else the amount due), and the currency: the invoice's, else the amount's.
fn total_and_currency(
    totals: Option<Node<'_, '_>>,
    names: [&str; 2],
    currency: Option<String>,
) -> (Option<f64>, Option<String>) {
    let total = totals.and_then(|t| names.iter().find_map(|n| amount_in(t, n, currency.as_deref())));
    let currency = currency.or_else(|| total.as_ref().and_then(|(_, c)| c.clone()));
    (total.map(|(v, _)| v), currency)
}

/// A UN/CEFACT date: format 102 is `YYYYMMDD`; 610 (`YYYYMM`) and 616
/// (`YYYYWW`) name no day and are not a purchase date.
fn cii_date(node: Option<Node<'_, '_>>) -> Option<Date> {
    let node = node?;
    let format = node.attribute("format").unwrap_or("102");
    let s = node.text()?.trim();
    if format != "102" || s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Date::new(s[..4].parse().ok()?, s[4..6].parse().ok()?, s[6..].parse().ok()?)
}

/// Cross Industry Invoice: version 2 (`CrossIndustryInvoice`, ZUGFeRD 2,
/// Factur-X, XRechnung) and ZUGFeRD 1 (`CrossIndustryDocument`), which
/// names a few containers differently.
fn cii(root: Node<'_, '_>) -> EInvoice {
    let header = child(root, "ExchangedDocument").or_else(|| child(root, "HeaderExchangedDocument"));
    let date = header.and_then(|h| cii_date(at(h, &["IssueDateTime", "DateTimeString"])));
    let transaction =
        child(root, "SupplyChainTradeTransaction").or_else(|| child(root, "SpecifiedSupplyChainTradeTransaction"));
    let agreement = transaction
        .and_then(|t| child(t, "ApplicableHeaderTradeAgreement"))
        .or_else(|| transaction.and_then(|t| child(t, "ApplicableSupplyChainTradeAgreement")));
    let seller = agreement.and_then(|a| text(at(a, &["SellerTradeParty", "Name"])));
    let settlement = transaction
        .and_then(|t| child(t, "ApplicableHeaderTradeSettlement"))
        .or_else(|| transaction.and_then(|t| child(t, "ApplicableSupplyChainTradeSettlement")));
    let currency = currency_code(settlement.and_then(|s| text(child(s, "InvoiceCurrencyCode"))));
    let summation = settlement.and_then(|s| {
        child(s, "SpecifiedTradeSettlementHeaderMonetarySummation")
            .or_else(|| child(s, "SpecifiedTradeSettlementMonetarySummation"))
    });
    let (total, currency) = total_and_currency(summation, ["GrandTotalAmount", "DuePayableAmount"], currency);
    EInvoice { syntax: "CII", seller, date, total, currency }
}

/// UBL 2 `Invoice` and `CreditNote`.
fn ubl(root: Node<'_, '_>) -> EInvoice {
    let party = at(root, &["AccountingSupplierParty", "Party"]);
    let seller = party.and_then(|p| {
        text(at(p, &["PartyName", "Name"])).or_else(|| text(at(p, &["PartyLegalEntity", "RegistrationName"])))
    });
    let date = text(child(root, "IssueDate")).and_then(|d| Date::parse_iso(&d));
    let currency = currency_code(text(child(root, "DocumentCurrencyCode")));
    let totals = child(root, "LegalMonetaryTotal");
    let (total, currency) = total_and_currency(totals, ["TaxInclusiveAmount", "PayableAmount"], currency);
    EInvoice { syntax: "UBL", seller, date, total, currency }
}

/// What reading a document gave: its fields, the verdict on them, and where
/// they came from.
pub type Read = (Extracted, Verdict, String);

/// Whether `text`, the printed side of a document, shows `total` as an
/// amount somewhere.
fn printed(text: &str, total: f64) -> bool {
    text.lines().flat_map(money::amounts).any(|m| (m.value - total).abs() < 0.005)
}

/// The reading of a document that carries the e-invoice `e` (`name` says
/// where: `the e-invoice factur-x.xml`). The e-invoice's fields win where its
/// total is printed in `text` too, or where there is no printed text (an
/// XML file); a field it lacks keeps the printed reading's. An e-invoice
/// whose total the printed page does not show describes some other
/// document (a sample, a template, a forgery) and the printed page is what
/// a person reads and pays: the printed reading stays, and the second value
/// says why, for the job's warnings.
pub fn reading(e: &EInvoice, from_text: Option<Read>, text: &str, name: &str) -> (Option<Read>, Option<String>) {
    let Some(total) = e.total else {
        return (from_text, Some(format!("{name} states no total; the printed invoice was read")));
    };
    if !text.trim().is_empty() && !printed(text, total) {
        let warning = format!(
            "{name} states a total of {total:.2}, which the printed invoice does not show; the printed invoice was read"
        );
        return (from_text, Some(warning));
    }
    let (mut fields, _, _) = from_text.unwrap_or_default();
    let source = format!("{name} ({} syntax)", e.syntax);
    fn stated<T>(value: T, source: &str) -> Option<Field<T>> {
        Some(Field { value, confidence: 1.0, source: source.to_string() })
    }
    fields.total = stated(total, &source);
    if let Some(seller) = e.seller.as_deref().map(vendor::clean).filter(|s| !s.is_empty()) {
        fields.vendor = stated(seller, &source);
    }
    if let Some(date) = e.date {
        fields.date = stated(date.iso(), &source);
    }
    if let Some(code) = &e.currency {
        fields.currency = stated(code.clone(), &source);
    }
    let verdict = Verdict { receipt: true, reason: format!("an e-invoice for {total:.2}") };
    (Some((fields, verdict, name.to_string())), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CII: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
  xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
  xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
  <rsm:ExchangedDocument>
    <ram:ID>R-2024-001</ram:ID>
    <ram:TypeCode>380</ram:TypeCode>
    <ram:IssueDateTime><udt:DateTimeString format="102">20240315</udt:DateTimeString></ram:IssueDateTime>
  </rsm:ExchangedDocument>
  <rsm:SupplyChainTradeTransaction>
    <ram:IncludedSupplyChainTradeLineItem><ram:SpecifiedTradeProduct><ram:Name>Widget</ram:Name></ram:SpecifiedTradeProduct></ram:IncludedSupplyChainTradeLineItem>
    <ram:ApplicableHeaderTradeAgreement>
      <ram:SellerTradeParty><ram:Name>Muster   Werkzeuge GmbH</ram:Name></ram:SellerTradeParty>
      <ram:BuyerTradeParty><ram:Name>Kunde AG</ram:Name></ram:BuyerTradeParty>
    </ram:ApplicableHeaderTradeAgreement>
    <ram:ApplicableHeaderTradeSettlement>
      <ram:InvoiceCurrencyCode>USD</ram:InvoiceCurrencyCode>
      <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
        <ram:TaxBasisTotalAmount>100.00</ram:TaxBasisTotalAmount>
        <ram:TaxTotalAmount currencyID="EUR">17.10</ram:TaxTotalAmount>
        <ram:GrandTotalAmount currencyID="EUR">107.10</ram:GrandTotalAmount>
        <ram:GrandTotalAmount currencyID="USD">119.00</ram:GrandTotalAmount>
        <ram:TotalPrepaidAmount>50.00</ram:TotalPrepaidAmount>
        <ram:DuePayableAmount>69.00</ram:DuePayableAmount>
      </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
    </ram:ApplicableHeaderTradeSettlement>
  </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>"#;

    #[test]
    fn cross_industry_invoice_gives_seller_date_gross_total_and_currency() {
        let e = parse(CII).unwrap();
        assert_eq!(e.syntax, "CII");
        // The seller, not the buyer or a product named `Name` too.
        assert_eq!(e.seller.as_deref(), Some("Muster Werkzeuge GmbH"));
        assert_eq!(e.date, Date::new(2024, 3, 15));
        // The gross total in the invoice's currency, not the one in the
        // seller's, nor what is left after a prepayment.
        assert_eq!(e.total, Some(119.0));
        assert_eq!(e.currency.as_deref(), Some("USD"));
    }

    #[test]
    fn zugferd_1_names_its_containers_differently() {
        let xml = r#"<rsm:CrossIndustryDocument xmlns:rsm="urn:ferd:CrossIndustryDocument:invoice:1p0" xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12" xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15">
  <rsm:HeaderExchangedDocument><ram:IssueDateTime><udt:DateTimeString format="102">20130305</udt:DateTimeString></ram:IssueDateTime></rsm:HeaderExchangedDocument>
  <rsm:SpecifiedSupplyChainTradeTransaction>
    <ram:ApplicableSupplyChainTradeAgreement><ram:SellerTradeParty><ram:Name>Lieferant GmbH</ram:Name></ram:SellerTradeParty></ram:ApplicableSupplyChainTradeAgreement>
    <ram:ApplicableSupplyChainTradeSettlement>
      <ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
      <ram:SpecifiedTradeSettlementMonetarySummation><ram:GrandTotalAmount currencyID="EUR">529.87</ram:GrandTotalAmount></ram:SpecifiedTradeSettlementMonetarySummation>
    </ram:ApplicableSupplyChainTradeSettlement>
  </rsm:SpecifiedSupplyChainTradeTransaction>
</rsm:CrossIndustryDocument>"#;
        let e = parse(xml).unwrap();
        assert_eq!(
            (e.seller.as_deref(), e.date, e.total, e.currency.as_deref()),
            (Some("Lieferant GmbH"), Date::new(2013, 3, 5), Some(529.87), Some("EUR"))
        );
    }

    #[test]
    fn ubl_invoice_gives_the_supplier_and_the_amount_with_tax() {
        let xml = r#"<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:ID>123</cbc:ID>
  <cbc:IssueDate>2023-11-02</cbc:IssueDate>
  <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
  <cac:AccountingSupplierParty><cac:Party><cac:PartyLegalEntity><cbc:RegistrationName>Leverancier B.V.</cbc:RegistrationName></cac:PartyLegalEntity></cac:Party></cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty><cac:Party><cac:PartyName><cbc:Name>Klant</cbc:Name></cac:PartyName></cac:Party></cac:AccountingCustomerParty>
  <cac:LegalMonetaryTotal>
    <cbc:TaxExclusiveAmount currencyID="EUR">100.00</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="EUR">121.00</cbc:TaxInclusiveAmount>
    <cbc:PayableAmount currencyID="EUR">21.00</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
</Invoice>"#;
        let e = parse(xml).unwrap();
        assert_eq!(e.syntax, "UBL");
        assert_eq!(parse(&format!("\u{feff}{xml}")).as_ref(), Some(&e), "a byte order mark is no obstacle");
        assert_eq!(
            (e.seller.as_deref(), e.date, e.total, e.currency.as_deref()),
            (Some("Leverancier B.V."), Date::new(2023, 11, 2), Some(121.0), Some("EUR"))
        );
        assert!(parse_with_text(xml).1.contains("Leverancier B.V."));
    }

    #[test]
    fn other_xml_and_hostile_xml_are_not_e_invoices() {
        assert_eq!(parse("<html><body>Total 12.00</body></html>"), None);
        assert_eq!(parse("<Invoice>"), None);
        assert_eq!(parse("not xml"), None);
        // Entity expansion ("billion laughs") needs a DTD, which is refused.
        let laughs = r#"<?xml version="1.0"?><!DOCTYPE Invoice [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><Invoice><IssueDate>&b;</IssueDate></Invoice>"#;
        assert_eq!(parse(laughs), None);
        assert_eq!(parse_with_text(laughs), (None, String::new()));
        // A date with no day is no purchase date; a total that is no number
        // leaves the amount due.
        let odd = CII.replace(r#"format="102">20240315"#, r#"format="610">202403"#).replace(">119.00<", ">NaN<");
        let e = parse(&odd).unwrap();
        assert_eq!((e.date, e.total), (None, Some(69.0)));
        let deep = "<Invoice>".repeat(10_000);
        assert_eq!(parse(&deep), None);
    }
}

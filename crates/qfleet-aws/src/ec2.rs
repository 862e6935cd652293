//! EC2's Query API for the three calls qfleet makes (DescribeVpcs, DescribeSubnets,
//! DescribeInstanceTypeOfferings), sent as [`super::signed`] calls. The generated EC2 crate is
//! the largest of the SDK (about half of a cold build's critical path on 2 cores) for three
//! read-only calls; this module is what those calls need of it.
//!
//! The protocol, as AWS documents it:
//! - a request is an HTTP POST of `Action`, `Version` and the parameters, form-urlencoded;
//!   lists are flattened with 1-based indices (`Filter.1.Name`, `Filter.1.Value.1`)
//!   (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/Query-Requests.html>,
//!   <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/Using_Filtering.html>);
//! - signed with Signature Version 4 for the service `ec2`
//!   (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/CommonParameters.html>), at
//!   `ec2.REGION.amazonaws.com` (<https://docs.aws.amazon.com/general/latest/gr/ec2-service.html>);
//! - answered with XML whose lists are `…Set` elements of `item`s, paged by `nextToken`
//!   (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcs.html>,
//!   <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSubnets.html>,
//!   <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstanceTypeOfferings.html>);
//! - errors as `<Response><Errors><Error><Code>…</Code><Message>…</Message></Error></Errors>`
//!   (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html>).

use super::error::AwsError;
use super::signed::{ApiError, Request, Service, Signed, body_text};
use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, OrchestratorError};
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_xml::decode::{Document, ScopedDecoder, XmlDecodeError, try_data};
use std::collections::BTreeMap;

/// The API version every request names.
const VERSION: &str = "2016-11-15";

const EC2: Service = Service {
    id: "EC2",
    name: "ec2",
};

/// An EC2 client for one region.
#[derive(Clone, Debug)]
pub struct Ec2(pub(super) std::sync::Arc<Signed>);

/// A filter: `Filter.N.Name` and its values.
pub(super) struct Filter<'a> {
    pub(super) name: &'a str,
    pub(super) values: Vec<String>,
}

/// One item of a `…Set`: its direct child elements' texts by name.
type Item = BTreeMap<String, String>;

/// One page of a Describe call: the items of its set and the token of the next page.
#[derive(Debug, Default, PartialEq)]
struct Page {
    items: Vec<Item>,
    next: Option<String>,
}

impl Ec2 {
    pub(super) fn from_config(region: &str, conf: &SdkConfig) -> Ec2 {
        Ec2(std::sync::Arc::new(Signed::from_config(EC2, region, conf)))
    }

    /// A client whose requests `http_client` answers (tests).
    #[cfg(any(test, feature = "test-util"))]
    pub(super) fn with_http_client(
        region: &str,
        http_client: aws_smithy_runtime_api::client::http::SharedHttpClient,
    ) -> Ec2 {
        Ec2(std::sync::Arc::new(Signed::with_http_client(
            EC2,
            region,
            http_client,
        )))
    }

    /// Every item of `set` across all pages of `action` with `filters` and `params`; an error
    /// begins with `what` (the call described for the user).
    pub(super) async fn describe(
        &self,
        what: &str,
        action: &'static str,
        set: &'static str,
        params: &[(&str, &str)],
        filters: &[Filter<'_>],
    ) -> Result<Vec<Item>, AwsError> {
        let mut form: Vec<(String, String)> = vec![
            ("Action".into(), action.into()),
            ("Version".into(), VERSION.into()),
        ];
        form.extend(params.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        for (i, f) in filters.iter().enumerate() {
            form.push((format!("Filter.{}.Name", i + 1), f.name.to_string()));
            for (j, v) in f.values.iter().enumerate() {
                form.push((format!("Filter.{}.Value.{}", i + 1, j + 1), v.clone()));
            }
        }
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut page_form = form.clone();
            if let Some(t) = &token {
                page_form.push(("NextToken".into(), t.clone()));
            }
            let body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(page_form)
                .finish();
            let request = Request {
                method: "POST",
                path: "/".into(),
                body,
                headers: vec![(
                    "content-type",
                    "application/x-www-form-urlencoded; charset=utf-8".into(),
                )],
            };
            let page = self
                .0
                .invoke(what, action, request, move |r| page(r, set))
                .await?;
            items.extend(page.items);
            match page.next {
                // A token equal to the last one would page forever.
                Some(next) if token.as_ref() != Some(&next) => token = Some(next),
                _ => return Ok(items),
            }
        }
    }
}

impl Ec2 {
    /// An action that changes something (`DeleteVpcEndpoints`, `DeleteSecurityGroup`), its
    /// parameters `params`: the answer's items of `set` (the action's result list, such as
    /// `unsuccessful`), or none; an error begins with `what`.
    pub(super) async fn act(
        &self,
        what: &str,
        action: &'static str,
        set: &'static str,
        params: &[(String, String)],
    ) -> Result<Vec<Item>, AwsError> {
        let mut form: Vec<(String, String)> = vec![
            ("Action".into(), action.into()),
            ("Version".into(), VERSION.into()),
        ];
        form.extend(params.iter().cloned());
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = Request {
            method: "POST",
            path: "/".into(),
            body,
            headers: vec![(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8".into(),
            )],
        };
        let page = self
            .0
            .invoke(what, action, request, move |r| page(r, set))
            .await?;
        Ok(page.items)
    }
}

impl Ec2 {
    /// The text at `path` (element names below the answer's root) in the answer to `action`,
    /// or `None` when the answer has no such element: DescribeVpcAttribute's
    /// `enableDnsHostnames`/`value`.
    pub(super) async fn value(
        &self,
        what: &str,
        action: &'static str,
        params: &[(String, String)],
        path: [&'static str; 2],
    ) -> Result<Option<String>, AwsError> {
        let mut form: Vec<(String, String)> = vec![
            ("Action".into(), action.into()),
            ("Version".into(), VERSION.into()),
        ];
        form.extend(params.iter().cloned());
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = Request {
            method: "POST",
            path: "/".into(),
            body,
            headers: vec![(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8".into(),
            )],
        };
        self.0
            .invoke(what, action, request, move |r| {
                let text = body_text(r)?;
                if !r.status().is_success() {
                    return Err(OrchestratorError::operation(ApiError(parse_error(text))));
                }
                value_at(text, path).map_err(|e| OrchestratorError::response(Box::new(e)))
            })
            .await
    }
}

fn value_at(xml: &str, path: [&str; 2]) -> Result<Option<String>, XmlDecodeError> {
    let mut doc = Document::new(xml);
    let mut root = doc.root_element()?;
    while let Some(mut outer) = root.next_tag() {
        if !outer.start_el().matches(path[0]) {
            continue;
        }
        while let Some(mut inner) = outer.next_tag() {
            if inner.start_el().matches(path[1]) {
                return Ok(Some(try_data(&mut inner)?.into_owned()));
            }
        }
    }
    Ok(None)
}

/// A Region's opt-in status as EC2 lists it for the account (DescribeRegions with AllRegions,
/// <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRegions.html>):
/// `opt-in-not-required`, `opted-in` or `not-opted-in`; `None` when EC2 does not list it.
pub(super) async fn region_opt_in(ec2: &Ec2, region: &str) -> Result<Option<String>, AwsError> {
    let items = ec2
        .describe(
            &format!("reading Region {region}'s opt-in status"),
            "DescribeRegions",
            "regionInfo",
            &[("AllRegions", "true"), ("RegionName.1", region)],
            &[],
        )
        .await?;
    Ok(items
        .into_iter()
        .find(|i| i.get("regionName").map(String::as_str) == Some(region))
        .and_then(|i| i.get("optInStatus").cloned()))
}

/// The Regions enabled for the account, sorted: DescribeRegions without AllRegions lists "the
/// Regions that are enabled for your account"
/// (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRegions.html>).
pub async fn enabled_regions(ec2: &Ec2) -> Result<Vec<String>, AwsError> {
    let items = ec2
        .describe(
            "listing the Regions enabled for the account",
            "DescribeRegions",
            "regionInfo",
            &[],
            &[],
        )
        .await?;
    let mut regions: Vec<String> = items
        .into_iter()
        .filter_map(|mut i| i.remove("regionName"))
        .collect();
    regions.sort();
    regions.dedup();
    Ok(regions)
}

/// A success is a page of `set`; any other status an error document.
fn page(resp: &HttpResponse, set: &str) -> Result<Page, OrchestratorError<ApiError>> {
    let text = body_text(resp)?;
    if resp.status().is_success() {
        parse_page(text, set).map_err(|e| OrchestratorError::response(Box::new(e)))
    } else {
        Err(OrchestratorError::operation(ApiError(parse_error(text))))
    }
}

/// The `item`s of the root's `set` child (each with its direct children's texts) and the
/// `nextToken`, if any and not empty.
fn parse_page(xml: &str, set: &str) -> Result<Page, XmlDecodeError> {
    let mut doc = Document::new(xml);
    let mut root = doc.root_element()?;
    let mut page = Page::default();
    let structures = SET_STRUCTURES
        .iter()
        .find(|(s, _)| *s == set)
        .map_or(&[][..], |(_, names)| *names);
    while let Some(mut tag) = root.next_tag() {
        if tag.start_el().matches(set) {
            while let Some(mut item) = tag.next_tag() {
                if item.start_el().matches("item") {
                    let mut out = Item::new();
                    fields_into(&mut item, "", &mut out, structures);
                    page.items.push(out);
                }
            }
        } else if tag.start_el().matches("nextToken") {
            let t = try_data(&mut tag)?;
            if !t.is_empty() {
                page.next = Some(t.into_owned());
            }
        }
    }
    Ok(page)
}

/// The texts of an element's direct children that hold text only; a nested structure reads
/// as "". The items of a nested set (`…Set`, EC2's lists) are flattened beside them with
/// 1-based indices: `routeSet.1.gatewayId`, and `routeTableIdSet.1` for a set of plain values
/// ([`VALUE_SETS`]); the set's own key reads as "".
fn fields(item: &mut ScopedDecoder) -> Result<Item, XmlDecodeError> {
    let mut out = Item::new();
    fields_into(item, "", &mut out, &[]);
    Ok(out)
}

/// The sets whose items are plain values, not structures (DescribeVpcEndpoints'
/// `routeTableIdSet` and `subnetIdSet`, <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_VpcEndpoint.html>;
/// DescribeVpcEndpointServices' `availabilityZoneSet` and `availabilityZoneIdSet`,
/// <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ServiceDetail.html>).
const VALUE_SETS: &[&str] = &[
    "routeTableIdSet",
    "subnetIdSet",
    "networkInterfaceIdSet",
    "availabilityZoneSet",
    "availabilityZoneIdSet",
];

/// The structures read field by field beside the item's own fields (`cidrBlockState.state`):
/// a CIDR block's association state (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_VpcCidrBlockState.html>)
/// and the error of an item a batch action could not act on
/// (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_UnsuccessfulItem.html>).
/// An instance type's vCPUs and GPUs (DescribeInstanceTypes: `vCpuInfo.defaultVCpus`,
/// `gpuInfo.gpus.N.count`; <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_InstanceTypeInfo.html>)
/// are read the same way.
const STRUCTURES: &[&str] = &["cidrBlockState", "error", "vCpuInfo", "gpuInfo"];

/// Structures read field by field only in the items of one set, where a field of the same name
/// is text in other answers: a VPC peering connection's two sides and its status
/// (`requesterVpcInfo.vpcId`, `status.code`;
/// <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_VpcPeeringConnection.html>),
/// where a network interface's `status` is a word
/// (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_NetworkInterface.html>).
const SET_STRUCTURES: &[(&str, &[&str])] = &[(
    "vpcPeeringConnectionSet",
    &["requesterVpcInfo", "accepterVpcInfo", "status"],
)];

/// Lists whose name does not end in `Set`: an instance type's GPUs
/// (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_GpuInfo.html>, `gpus`).
const LISTS: &[&str] = &["gpus"];

/// `structures`: the set's own structures ([`SET_STRUCTURES`]) beside [`STRUCTURES`].
fn fields_into(item: &mut ScopedDecoder, prefix: &str, out: &mut Item, structures: &[&str]) {
    while let Some(mut f) = item.next_tag() {
        let name = f.start_el().local().to_string();
        if name.ends_with("Set") || LISTS.contains(&name.as_str()) {
            let plain = VALUE_SETS.contains(&name.as_str());
            let mut n = 0;
            while let Some(mut member) = f.next_tag() {
                if !member.start_el().matches("item") {
                    continue;
                }
                n += 1;
                let key = format!("{prefix}{name}.{n}");
                if plain {
                    let text = try_data(&mut member)
                        .map(|t| t.into_owned())
                        .unwrap_or_default();
                    out.insert(key, text);
                } else {
                    fields_into(&mut member, &format!("{key}."), out, structures);
                }
            }
            out.insert(format!("{prefix}{name}"), String::new());
            continue;
        }
        if STRUCTURES.contains(&name.as_str()) || structures.contains(&name.as_str()) {
            fields_into(&mut f, &format!("{prefix}{name}."), out, structures);
            out.insert(format!("{prefix}{name}"), String::new());
            continue;
        }
        let text = try_data(&mut f).map(|t| t.into_owned()).unwrap_or_default();
        out.insert(format!("{prefix}{name}"), text);
    }
}

/// The first error of an error answer; an answer that is not one reads as an error without a
/// code (a 5xx is retried on its status alone).
fn parse_error(xml: &str) -> ErrorMetadata {
    let mut b = ErrorMetadata::builder();
    let mut doc = Document::new(xml);
    let Ok(mut root) = doc.root_element() else {
        return b.build();
    };
    while let Some(mut tag) = root.next_tag() {
        if tag.start_el().matches("Errors") {
            while let Some(mut error) = tag.next_tag() {
                if error.start_el().matches("Error") {
                    let f = fields(&mut error).unwrap_or_default();
                    if let Some(c) = f.get("Code") {
                        b = b.code(c);
                    }
                    if let Some(m) = f.get("Message") {
                        b = b.message(m);
                    }
                    return b.build();
                }
            }
        }
    }
    b.build()
}

#[cfg(test)]
mod tests;

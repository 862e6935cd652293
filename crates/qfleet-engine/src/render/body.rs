//! The template body qfleet sends to CloudFormation: the template as rendered (YAML, what
//! `render` writes and the linters read) when it fits, else the same template as compact JSON.
//!
//! CloudFormation takes at most 51,200 bytes in a request's `TemplateBody`
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html>),
//! in JSON or YAML alike
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-formats.html>).
//! The rendered YAML spends about an eighth of its bytes on indentation; JSON without white
//! space has none, and CloudFormation's short forms (`!Ref`, `!Sub`) become the long forms
//! the JSON format has (`{"Ref": …}`, `{"Fn::Sub": …}`), the same template.
//! YAML that fits is sent as it is, so a template the console shows stays the readable one
//! wherever it can.

use std::borrow::Cow;

/// CloudFormation's limit on a template passed in the request body, in bytes.
pub const TEMPLATE_BODY_LIMIT: usize = 51_200;

/// The body a change set for `template` carries: `template` itself when it is within
/// [`TEMPLATE_BODY_LIMIT`], else its compact JSON form when that is smaller. A template that
/// does not parse is sent as it is: the checks refuse it first.
pub fn request_body(template: &str) -> Cow<'_, str> {
    if template.len() <= TEMPLATE_BODY_LIMIT {
        return Cow::Borrowed(template);
    }
    match super::long_form(template).map(|v| serde_json::to_string(&v)) {
        Ok(Ok(json)) if json.len() < template.len() => Cow::Owned(json),
        _ => Cow::Borrowed(template),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_that_fits_is_sent_as_rendered() {
        let t = "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n";
        assert!(matches!(request_body(t), Cow::Borrowed(b) if b == t));
    }

    /// Over the limit, the body is the same template in JSON's long forms, without white
    /// space, and within the limit when the YAML's indentation was what took it over.
    #[test]
    fn a_template_over_the_limit_is_sent_as_the_same_template_in_compact_json() {
        let mut t = String::from("Resources:\n");
        let mut i = 0;
        while t.len() <= TEMPLATE_BODY_LIMIT {
            t.push_str(&format!(
                "  Alarm{i}:\n    Type: AWS::CloudWatch::Alarm\n    Properties:\n      AlarmActions:\n        - !Ref Topic\n      Dimensions:\n        - Name: QueueName\n          Value: !GetAtt Queue{i}.QueueName\n      Threshold: 0\n"
            ));
            i += 1;
        }
        let body = request_body(&t);
        assert!(body.len() <= TEMPLATE_BODY_LIMIT, "{} bytes", body.len());
        let sent: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(sent, super::super::long_form(&t).unwrap());
        assert_eq!(
            sent["Resources"]["Alarm0"]["Properties"]["AlarmActions"][0]["Ref"],
            "Topic"
        );
        assert_eq!(
            sent["Resources"]["Alarm3"]["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"],
            serde_json::json!(["Queue3", "QueueName"])
        );
        assert_eq!(sent["Resources"]["Alarm0"]["Properties"]["Threshold"], 0);
        assert!(!body.contains('\n') && !body.contains(": "));
    }

    #[test]
    fn a_template_that_does_not_parse_is_left_to_the_checks() {
        let t = format!("Resources: [{}", "x".repeat(TEMPLATE_BODY_LIMIT));
        assert_eq!(request_body(&t), t.as_str());
    }
}

//! Test support: clients whose every call is answered by aws-smithy-mocks rules.

use super::Clients;
use aws_smithy_mocks::{Rule, RuleMode, mock_client};

/// Rules per service; a call no rule matches fails the operation.
#[derive(Default)]
pub struct Rules<'a> {
    pub cfn: Vec<&'a Rule>,
    pub ec2: Vec<&'a Rule>,
    pub autoscaling: Vec<&'a Rule>,
    pub cloudwatch: Vec<&'a Rule>,
    pub sqs: Vec<&'a Rule>,
    pub sns: Vec<&'a Rule>,
    pub s3: Vec<&'a Rule>,
}

impl Rules<'_> {
    pub fn clients(&self) -> Clients {
        Clients {
            region: "eu-west-1".into(),
            cfn: mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, &self.cfn),
            ec2: mock_client!(aws_sdk_ec2, RuleMode::MatchAny, &self.ec2),
            autoscaling: mock_client!(aws_sdk_autoscaling, RuleMode::MatchAny, &self.autoscaling),
            cloudwatch: mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &self.cloudwatch),
            sqs: mock_client!(aws_sdk_sqs, RuleMode::MatchAny, &self.sqs),
            sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, &self.sns),
            s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, &self.s3, |c| c
                .force_path_style(true)),
        }
    }
}

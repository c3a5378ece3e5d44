//! Resource rules on real configuration items: COMPLIANT, NON_COMPLIANT and NOT_APPLICABLE for
//! each, reached by mutating copies of the reference items.

mod common;

use common::*;
use serde_json::{json, Value};
use trailwarden::config::{evaluate_document, ComplianceType::*};

fn sup(v: &mut Value) -> &mut Value {
    &mut v["supplementaryConfiguration"]
}

fn set_policy(v: &mut Value, policy: Value) {
    sup(v)["BucketPolicy"] = json!({ "policyText": policy.to_string() });
}

fn public_read_statement() -> Value {
    json!({"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
           "Resource": "arn:aws:s3:::mborch-test-bucket-config-item/*"})
}

// ---------------------------------------------------------------- required-tags

#[test]
fn required_tags() {
    let s3 = item(S3_REAL);
    assert_eval(
        &eval("required-tags", None, &s3),
        NonCompliant,
        Some("missing tag 'CostCenter'"),
    );
    assert_eval(
        &eval(
            "required-tags",
            Some(r#"{"tag1Key":"application_id"}"#),
            &s3,
        ),
        Compliant,
        None,
    );
    assert_eval(
        &eval(
            "required-tags",
            Some(r#"{"tag1Key":"application_id","tag1Value":"ADM, FIN"}"#),
            &s3,
        ),
        Compliant,
        None,
    );
    assert_eval(
        &eval(
            "required-tags",
            Some(r#"{"tag1Key":"application_id","tag1Value":"XYZ,ABC","tag2Key":"owner"}"#),
            &s3,
        ),
        NonCompliant,
        Some("tag 'application_id' is 'ADM', allowed: XYZ, ABC; missing tag 'owner'"),
    );
    // Tags from supplementaryConfiguration.Tags ({key, value} list) on the RDS item.
    assert_eval(
        &eval(
            "required-tags",
            Some(r#"{"tag1Key":"workload-type","tag1Value":"production"}"#),
            &item(RDS_RDK),
        ),
        Compliant,
        None,
    );
    // IAM users are not in the rule's scope.
    assert_eval(
        &eval("required-tags", None, &item(IAM_USER_RDK)),
        NotApplicable,
        Some("required-tags does not evaluate AWS::IAM::User resources"),
    );
    let e = evaluate_document(
        Some("required-tags"),
        Some(r#"{"tag2Value":"a"}"#),
        &s3.to_string(),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "InvalidParameterValueException: tag2Value: is set but tag2Key is not"
    );
}

// ---------------------------------------------------------------- S3 public read / write

#[test]
fn s3_public_read_prohibited() {
    let base = item(S3_RDK);
    assert_eval(
        &eval("s3-bucket-public-read-prohibited", None, &base),
        Compliant,
        None,
    );
    assert_eval(
        &eval("s3-bucket-public-read-prohibited", None, &item(S3_REAL)),
        Compliant,
        None,
    );

    let mut public = base.clone();
    set_policy(
        &mut public,
        json!({"Version": "2012-10-17", "Statement": [public_read_statement()]}),
    );
    assert_eval(
        &eval("s3-bucket-public-read-prohibited", None, &public),
        NonCompliant,
        Some(
            "bucket policy statement 'PublicRead' allows public read (s3:GetObject) to Principal *",
        ),
    );
    // {"AWS": "*"} is everyone too.
    let mut aws_star = base.clone();
    let mut st = public_read_statement();
    st["Principal"] = json!({"AWS": ["*"]});
    set_policy(&mut aws_star, json!({"Statement": st}));
    assert_eq!(
        eval("s3-bucket-public-read-prohibited", None, &aws_star).compliance_type,
        NonCompliant
    );
    // A condition pinning the grant to a VPC endpoint makes it non-public.
    let mut pinned = base.clone();
    let mut st = public_read_statement();
    st["Condition"] = json!({"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}});
    set_policy(&mut pinned, json!({"Statement": [st]}));
    assert_eval(
        &eval("s3-bucket-public-read-prohibited", None, &pinned),
        Compliant,
        None,
    );
    // A wildcard condition does not pin.
    let mut wild = base.clone();
    let mut st = public_read_statement();
    st["Condition"] = json!({"StringLike": {"aws:SourceVpce": "vpce-*"}});
    set_policy(&mut wild, json!({"Statement": [st]}));
    assert_eq!(
        eval("s3-bucket-public-read-prohibited", None, &wild).compliance_type,
        NonCompliant
    );
    // RestrictPublicBuckets neutralises the public policy.
    let mut restricted = public.clone();
    sup(&mut restricted)["PublicAccessBlockConfiguration"] = json!({
        "blockPublicAcls": false, "ignorePublicAcls": false,
        "blockPublicPolicy": false, "restrictPublicBuckets": true});
    assert_eval(
        &eval("s3-bucket-public-read-prohibited", None, &restricted),
        Compliant,
        None,
    );

    // ACL grants to AllUsers (both grantee encodings), neutralised by IgnorePublicAcls.
    for grantee in [
        json!("AllUsers"),
        json!({"id": "http://acs.amazonaws.com/groups/global/AllUsers", "displayName": null}),
    ] {
        let mut acl = base.clone();
        let text = json!({"grantSet": null, "grantList": [
            {"grantee": {"id": "8ac8", "displayName": null}, "permission": "FullControl"},
            {"grantee": grantee, "permission": "Read"}],
            "owner": {"id": "8ac8"}, "isRequesterCharged": false});
        sup(&mut acl)["AccessControlList"] = Value::String(text.to_string());
        assert_eval(
            &eval("s3-bucket-public-read-prohibited", None, &acl),
            NonCompliant,
            Some("bucket ACL grants Read to AllUsers"),
        );
        assert_eq!(
            eval("s3-bucket-public-write-prohibited", None, &acl).compliance_type,
            Compliant
        );
        sup(&mut acl)["PublicAccessBlockConfiguration"] = json!({"ignorePublicAcls": true});
        assert_eq!(
            eval("s3-bucket-public-read-prohibited", None, &acl).compliance_type,
            Compliant
        );
    }
    assert_eval(
        &eval("s3-bucket-public-read-prohibited", None, &item(SG_RDK)),
        NotApplicable,
        Some("does not evaluate AWS::EC2::SecurityGroup"),
    );
}

#[test]
fn s3_public_write_prohibited() {
    let base = item(S3_RDK);
    assert_eval(
        &eval("s3-bucket-public-write-prohibited", None, &base),
        Compliant,
        None,
    );
    // A public read grant is not a write grant.
    let mut read_only = base.clone();
    set_policy(
        &mut read_only,
        json!({"Statement": [public_read_statement()]}),
    );
    assert_eq!(
        eval("s3-bucket-public-write-prohibited", None, &read_only).compliance_type,
        Compliant
    );

    let mut writable = base.clone();
    set_policy(
        &mut writable,
        json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
        "Action": ["s3:PutObject", "s3:PutObjectAcl"], "Resource": "arn:aws:s3:::mborch-test-bucket-config-item/*"}]}),
    );
    assert_eval(
        &eval("s3-bucket-public-write-prohibited", None, &writable),
        NonCompliant,
        Some("statement #1 allows public write (s3:PutObject, s3:PutObjectAcl)"),
    );
    // Pinned to the organisation: not public.
    let mut org = writable.clone();
    let mut p: Value = serde_json::from_str(
        org["supplementaryConfiguration"]["BucketPolicy"]["policyText"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    p["Statement"][0]["Condition"] = json!({"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}});
    set_policy(&mut org, p);
    assert_eq!(
        eval("s3-bucket-public-write-prohibited", None, &org).compliance_type,
        Compliant
    );

    let mut acl = base.clone();
    sup(&mut acl)["AccessControlList"] = json!({"grantList": [
        {"grantee": "AuthenticatedUsers", "permission": "Write"}]});
    assert_eval(
        &eval("s3-bucket-public-write-prohibited", None, &acl),
        NonCompliant,
        Some("bucket ACL grants Write to AuthenticatedUsers"),
    );
    assert_eq!(
        eval("s3-bucket-public-read-prohibited", None, &acl).compliance_type,
        Compliant
    );
    assert_eq!(
        eval("s3-bucket-public-write-prohibited", None, &item(VOLUME_RDK)).compliance_type,
        NotApplicable
    );
}

// ---------------------------------------------------------------- S3 TLS / SSE / versioning / BPA

#[test]
fn s3_ssl_requests_only() {
    // The RDK bucket denies HTTP on the bucket ARN only, not on its objects.
    let base = item(S3_RDK);
    assert_eval(
        &eval("s3-bucket-ssl-requests-only", None, &base),
        NonCompliant,
        Some("does not cover arn:aws:s3:::mborch-test-bucket-config-item/*"),
    );
    let mut fixed = base.clone();
    set_policy(
        &mut fixed,
        json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyHttp", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": ["arn:aws:s3:::mborch-test-bucket-config-item", "arn:aws:s3:::mborch-test-bucket-config-item/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}),
    );
    assert_eval(
        &eval("s3-bucket-ssl-requests-only", None, &fixed),
        Compliant,
        None,
    );
    // An Allow conditioned on SecureTransport=true is not enough.
    let mut allow = base.clone();
    set_policy(
        &mut allow,
        json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::mborch-test-bucket-config-item/*",
        "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]}),
    );
    assert_eval(
        &eval("s3-bucket-ssl-requests-only", None, &allow),
        NonCompliant,
        Some("does not deny requests with aws:SecureTransport=false"),
    );
    // Denying only GetObject over HTTP is not enough.
    let mut partial = base.clone();
    set_policy(
        &mut partial,
        json!({"Statement": [{"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::mborch-test-bucket-config-item/*",
        "Condition": {"Bool": {"aws:SecureTransport": false}}}]}),
    );
    assert_eval(
        &eval("s3-bucket-ssl-requests-only", None, &partial),
        NonCompliant,
        Some("only for s3:GetObject"),
    );
    assert_eval(
        &eval("s3-bucket-ssl-requests-only", None, &item(S3_REAL)),
        NonCompliant,
        Some("the bucket has no bucket policy"),
    );
    let mut broken = base.clone();
    sup(&mut broken)["BucketPolicy"] = json!({"policyText": "{\"Statement\": 5}"});
    assert_eval(
        &eval("s3-bucket-ssl-requests-only", None, &broken),
        NonCompliant,
        Some("bucket policy is not a valid policy document"),
    );
    assert_eq!(
        eval("s3-bucket-ssl-requests-only", None, &item(RDS_RDK)).compliance_type,
        NotApplicable
    );
}

#[test]
fn s3_server_side_encryption_enabled() {
    assert_eval(
        &eval(
            "s3-bucket-server-side-encryption-enabled",
            None,
            &item(S3_REAL),
        ),
        Compliant,
        Some("default encryption AES256"),
    );
    let base = item(S3_RDK);
    assert_eval(
        &eval("s3-bucket-server-side-encryption-enabled", None, &base),
        NonCompliant,
        Some("no default encryption"),
    );
    let mut denies = base.clone();
    set_policy(
        &mut denies,
        json!({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::mborch-test-bucket-config-item/*",
        "Condition": {"Null": {"s3:x-amz-server-side-encryption": "true"}}}]}),
    );
    assert_eval(
        &eval("s3-bucket-server-side-encryption-enabled", None, &denies),
        Compliant,
        Some("denies PutObject without server-side encryption"),
    );
    let mut kms = base.clone();
    sup(&mut kms)["ServerSideEncryptionConfiguration"] = json!({"rules": [
        {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyID": "k"}}]});
    assert_eval(
        &eval(
            "s3-bucket-server-side-encryption-enabled",
            None,
            &to_api_form(&kms),
        ),
        Compliant,
        Some("aws:kms"),
    );
    assert_eq!(
        eval(
            "s3-bucket-server-side-encryption-enabled",
            None,
            &item(VOLUME_RDK)
        )
        .compliance_type,
        NotApplicable
    );
}

#[test]
fn s3_versioning_enabled() {
    assert_eval(
        &eval("s3-bucket-versioning-enabled", None, &item(S3_REAL)),
        NonCompliant,
        Some("versioning is Suspended: enable versioning"),
    );
    // The real change event of the same bucket.
    let ev =
        event("real-2021-S3Bucket-versioning-suspended-ConfigurationItemChangeNotification.json");
    assert_eval(
        &eval("s3-bucket-versioning-enabled", None, &ev),
        NonCompliant,
        Some("Suspended"),
    );
    let base = item(S3_RDK);
    assert_eval(
        &eval("s3-bucket-versioning-enabled", None, &base),
        Compliant,
        None,
    );
    assert_eval(
        &eval(
            "s3-bucket-versioning-enabled",
            Some(r#"{"isMfaDeleteEnabled":"true"}"#),
            &base,
        ),
        NonCompliant,
        Some("MFA delete is not enabled"),
    );
    let mut mfa = base.clone();
    sup(&mut mfa)["BucketVersioningConfiguration"]["isMfaDeleteEnabled"] = json!(true);
    assert_eval(
        &eval(
            "s3-bucket-versioning-enabled",
            Some(r#"{"isMfaDeleteEnabled":"true"}"#),
            &mfa,
        ),
        Compliant,
        None,
    );
    let mut off = base.clone();
    sup(&mut off)
        .as_object_mut()
        .unwrap()
        .remove("BucketVersioningConfiguration");
    assert_eval(
        &eval("s3-bucket-versioning-enabled", None, &off),
        NonCompliant,
        Some("versioning is Off"),
    );
    assert_eq!(
        eval("s3-bucket-versioning-enabled", None, &item(SG_RDK)).compliance_type,
        NotApplicable
    );
    let e = evaluate_document(
        Some("s3-bucket-versioning-enabled"),
        Some(r#"{"isMfaDeleteEnabled":"yes"}"#),
        &base.to_string(),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "InvalidParameterValueException: isMfaDeleteEnabled: 'yes' is not a boolean (use true or false, lowercase)"
    );
}

#[test]
fn s3_bucket_level_public_access_prohibited() {
    let base = item(S3_RDK);
    assert_eval(
        &eval("s3-bucket-level-public-access-prohibited", None, &base),
        NonCompliant,
        Some("no Block Public Access configuration"),
    );
    let mut all_on = base.clone();
    sup(&mut all_on)["PublicAccessBlockConfiguration"] = json!({"blockPublicAcls": true,
        "ignorePublicAcls": true, "blockPublicPolicy": true, "restrictPublicBuckets": true});
    assert_eval(
        &eval("s3-bucket-level-public-access-prohibited", None, &all_on),
        Compliant,
        None,
    );
    assert_eval(
        &eval(
            "s3-bucket-level-public-access-prohibited",
            None,
            &to_api_form(&all_on),
        ),
        Compliant,
        None,
    );
    let mut partly = all_on.clone();
    sup(&mut partly)["PublicAccessBlockConfiguration"]["ignorePublicAcls"] = json!(false);
    sup(&mut partly)["PublicAccessBlockConfiguration"]["restrictPublicBuckets"] = json!(false);
    assert_eval(
        &eval("s3-bucket-level-public-access-prohibited", None, &partly),
        NonCompliant,
        Some("Block Public Access settings off: IgnorePublicAcls, RestrictPublicBuckets"),
    );
    assert_eval(
        &eval(
            "s3-bucket-level-public-access-prohibited",
            Some(r#"{"excludedPublicBuckets":"website, mborch-test-bucket-config-item"}"#),
            &partly,
        ),
        NotApplicable,
        Some("listed in excludedPublicBuckets"),
    );
}

// ---------------------------------------------------------------- encryption

#[test]
fn encrypted_volumes() {
    let base = item(VOLUME_RDK);
    assert_eval(&eval("encrypted-volumes", None, &base), Compliant, None);
    assert_eval(
        &eval(
            "encrypted-volumes",
            Some(r#"{"kmsId":"bd41e26b-d347-4c59-ab0b-32aee30fcf8d"}"#),
            &base,
        ),
        Compliant,
        None,
    );
    assert_eval(
        &eval(
            "encrypted-volumes",
            Some(r#"{"kmsId":"arn:aws:kms:us-east-1:1:key/other"}"#),
            &base,
        ),
        NonCompliant,
        Some("instead of KMS key arn:aws:kms:us-east-1:1:key/other"),
    );
    let mut plain = base.clone();
    plain["configuration"]["encrypted"] = json!(false);
    assert_eval(
        &eval("encrypted-volumes", None, &plain),
        NonCompliant,
        Some("not encrypted"),
    );
    let mut detached = plain.clone();
    detached["configuration"]["attachments"] = json!([]);
    assert_eval(
        &eval("encrypted-volumes", None, &detached),
        NotApplicable,
        Some("not attached"),
    );
    assert_eq!(
        eval("encrypted-volumes", None, &item(RDS_RDK)).compliance_type,
        NotApplicable
    );
}

#[test]
fn rds_storage_encrypted() {
    let base = item(RDS_RDK);
    assert_eval(&eval("rds-storage-encrypted", None, &base), Compliant, None);
    assert_eval(
        &eval(
            "rds-storage-encrypted",
            Some(r#"{"kmsKeyId":"e20f3a10-781f-4582-93d7-6dfe67cac827"}"#),
            &base,
        ),
        Compliant,
        None,
    );
    assert_eval(
        &eval(
            "rds-storage-encrypted",
            Some(r#"{"kmsKeyId":"wrong"}"#),
            &base,
        ),
        NonCompliant,
        Some("instead of KMS key wrong"),
    );
    let mut plain = base.clone();
    plain["configuration"]["storageEncrypted"] = json!(false);
    assert_eval(
        &eval("rds-storage-encrypted", None, &plain),
        NonCompliant,
        Some("storage encryption is off"),
    );
    let mut deleted = base.clone();
    deleted["configurationItemStatus"] = json!("ResourceDeleted");
    assert_eval(
        &eval("rds-storage-encrypted", None, &deleted),
        NotApplicable,
        Some("not recorded any more (status ResourceDeleted)"),
    );
    assert_eq!(
        eval("rds-storage-encrypted", None, &item(VOLUME_RDK)).compliance_type,
        NotApplicable
    );
}

// ---------------------------------------------------------------- security groups

#[test]
fn restricted_ssh() {
    assert_eval(
        &eval("restricted-ssh", None, &item(SG_RDK)),
        NonCompliant,
        Some("port 22 open to 0.0.0.0/0 in rule tcp 22"),
    );
    // tcp 0-65535 from 15.0.0.0/0 (a /0 block written non-canonically), both CIDR fields.
    let e = eval("restricted-ssh", None, &item(SG_RULES_TEST));
    assert_eq!(
        e.annotation.as_deref(),
        Some("port 22 open to 15.0.0.0/0 in rule tcp 0-65535")
    );
    // The aws-config-rules event: tcp 10000-12000 open to the world does not cover 22.
    let ev = event("aws-config-rules-test-SecurityGroup-tcp-open-not-authorized.json");
    assert_eval(&eval("restricted-ssh", None, &ev), Compliant, None);
    // API form from the docs: 80 and 1433 open, no 22.
    assert_eval(
        &eval("restricted-ssh", None, &item(SG_API_DOCS)),
        Compliant,
        None,
    );

    // Only ipv4Ranges (no legacy ipRanges).
    let mut v4 = item(SG_RDK);
    v4["configuration"]["ipPermissions"][0] = json!({"ipProtocol": "tcp", "fromPort": 20, "toPort": 30,
        "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}], "ipv6Ranges": [], "userIdGroupPairs": []});
    assert_eval(
        &eval("restricted-ssh", None, &v4),
        NonCompliant,
        Some("port 22 open to 0.0.0.0/0 in rule tcp 20-30"),
    );
    // IPv6 ::/0.
    let mut v6 = item(SG_RDK);
    v6["configuration"]["ipPermissions"][0] = json!({"ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
        "ipRanges": ["10.0.0.0/8"], "ipv6Ranges": [{"cidrIpv6": "::/0"}]});
    assert_eval(
        &eval("restricted-ssh", None, &v6),
        NonCompliant,
        Some("port 22 open to ::/0 in rule tcp 22"),
    );
    // Protocol -1 (all traffic, no ports).
    let mut all = item(SG_RDK);
    all["configuration"]["ipPermissions"][0] =
        json!({"ipProtocol": "-1", "ipRanges": ["0.0.0.0/0"]});
    assert_eval(
        &eval("restricted-ssh", None, &all),
        NonCompliant,
        Some("port 22 open to 0.0.0.0/0 in rule all traffic (protocol -1)"),
    );
    // Restricted source, UDP, and egress rules do not count.
    let mut closed = item(SG_RDK);
    closed["configuration"]["ipPermissions"] = json!([
        {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": ["203.0.113.0/24"]},
        {"ipProtocol": "udp", "fromPort": 0, "toPort": 65535, "ipRanges": ["0.0.0.0/0"]}]);
    assert_eval(&eval("restricted-ssh", None, &closed), Compliant, None);
    assert_eval(
        &eval("restricted-ssh", None, &to_api_form(&item(SG_RULES_TEST))),
        NonCompliant,
        Some("tcp 0-65535"),
    );
    assert_eq!(
        eval("restricted-ssh", None, &item(S3_RDK)).compliance_type,
        NotApplicable
    );
}

#[test]
fn restricted_common_ports() {
    // Docs SG: 3389 only from 207.171.160.0/19; 1433 and 80 are open but not blocked by default.
    let docs = item(SG_API_DOCS);
    assert_eval(
        &eval("restricted-common-ports", None, &docs),
        Compliant,
        None,
    );
    assert_eval(
        &eval(
            "restricted-common-ports",
            Some(r#"{"blockedPorts":"1433, 8080"}"#),
            &docs,
        ),
        NonCompliant,
        Some("port 1433 open to 0.0.0.0/0 in rule tcp 1433"),
    );
    assert_eval(
        &eval(
            "restricted-common-ports",
            Some(r#"{"blockedPort1":"80"}"#),
            &docs,
        ),
        NonCompliant,
        Some("port 80 open to 0.0.0.0/0 in rule tcp 80"),
    );
    let e = eval("restricted-common-ports", None, &item(SG_RULES_TEST));
    assert_eq!(
        e.annotation.as_deref(),
        Some(
            "port 20 open to 15.0.0.0/0 in rule tcp 0-65535; port 21 open to 15.0.0.0/0 in rule tcp 0-65535; \
             port 3389 open to 15.0.0.0/0 in rule tcp 0-65535; port 3306 open to 15.0.0.0/0 in rule tcp 0-65535; \
             port 4333 open to 15.0.0.0/0 in rule tcp 0-65535"
        )
    );
    // SSH alone is not a default blocked port.
    assert_eval(
        &eval("restricted-common-ports", None, &item(SG_RDK)),
        Compliant,
        None,
    );
    assert_eq!(
        eval("restricted-common-ports", None, &item(INSTANCE_RDK)).compliance_type,
        NotApplicable
    );
    for (params, expected) in [
        (
            r#"{"blockedPort3":"rdp"}"#,
            "InvalidParameterValueException: blockedPort3: 'rdp' is not a port number (0-65535)",
        ),
        (
            r#"{"blockedPorts":"22,99999"}"#,
            "InvalidParameterValueException: blockedPorts: '99999' is not a port number (0-65535)",
        ),
    ] {
        let err = evaluate_document(
            Some("restricted-common-ports"),
            Some(params),
            &docs.to_string(),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), expected);
    }
}

#[test]
fn long_annotations_are_truncated() {
    let ports: Vec<String> = (1000..1100).map(|p| p.to_string()).collect();
    let params = json!({ "blockedPorts": ports.join(",") }).to_string();
    let e = eval(
        "restricted-common-ports",
        Some(&params),
        &item(SG_RULES_TEST),
    );
    let a = e.annotation.unwrap();
    assert_eq!(a.chars().count(), 256);
    assert!(a.ends_with(" [truncated]"), "{a}");
    assert!(
        a.starts_with("port 20 open to 15.0.0.0/0 in rule tcp 0-65535; "),
        "{a}"
    );
}

#[test]
fn vpc_default_security_group_closed() {
    assert_eval(
        &eval("vpc-default-security-group-closed", None, &item(SG_API_DOCS)),
        NonCompliant,
        Some("the default security group has 6 inbound rule(s): tcp 80, tcp 0-65535, udp 0-65535, icmp, tcp 1433, tcp 3389: remove them"),
    );
    let mut closed = item(SG_API_DOCS);
    let mut ci: Value = closed["configurationItems"][0].clone();
    let mut cfg: Value = serde_json::from_str(ci["configuration"].as_str().unwrap()).unwrap();
    cfg["ipPermissions"] = json!([]);
    cfg["ipPermissionsEgress"] = json!([{"ipProtocol": "-1", "ipRanges": ["0.0.0.0/0"]}]);
    ci["configuration"] = Value::String(cfg.to_string());
    closed["configurationItems"][0] = ci.clone();
    assert_eval(
        &eval("vpc-default-security-group-closed", None, &closed),
        NonCompliant,
        Some("1 outbound rule(s): all traffic (protocol -1)"),
    );
    cfg["ipPermissionsEgress"] = json!([]);
    ci["configuration"] = Value::String(cfg.to_string());
    assert_eval(
        &eval("vpc-default-security-group-closed", None, &ci),
        Compliant,
        None,
    );
    assert_eval(
        &eval("vpc-default-security-group-closed", None, &item(SG_RDK)),
        NotApplicable,
        Some("launch-wizard-7 is not a default security group"),
    );
}

// ---------------------------------------------------------------- instances and trails

#[test]
fn ec2_instance_no_public_ip() {
    assert_eval(
        &eval("ec2-instance-no-public-ip", None, &item(INSTANCE_RDK)),
        NonCompliant,
        Some("public IP 34.205.29.138 on eni-d055cfc4"),
    );
    // aws-config-rules test event: only privateIpAddresses[].association.publicIp.
    assert_eval(
        &eval(
            "ec2-instance-no-public-ip",
            None,
            &event("aws-config-rules-test-EC2Instance-public-ip.json"),
        ),
        NonCompliant,
        Some("public IP public-ip on interface"),
    );
    // Powertools event: two interfaces, one with an Elastic IP.
    let e = eval(
        "ec2-instance-no-public-ip",
        None,
        &event("powertools-awsConfigRuleConfigurationChanged.json"),
    );
    assert_eq!(e.compliance_type, NonCompliant);
    assert!(e
        .annotation
        .unwrap()
        .starts_with("public IP 3.232.229.57 on eni-034dd31c4b17ada8c:"));
    let mut private = item(INSTANCE_RDK);
    let cfg = &mut private["configuration"];
    cfg.as_object_mut().unwrap().remove("publicIpAddress");
    cfg["networkInterfaces"][0]
        .as_object_mut()
        .unwrap()
        .remove("association");
    cfg["networkInterfaces"][0]["privateIpAddresses"][0]["association"] = Value::Null;
    assert_eval(
        &eval("ec2-instance-no-public-ip", None, &private),
        Compliant,
        None,
    );
    assert_eq!(
        eval("ec2-instance-no-public-ip", None, &item(VOLUME_RDK)).compliance_type,
        NotApplicable
    );
}

#[test]
fn cloud_trail_log_file_validation_enabled() {
    let base = item(TRAIL_RDK);
    assert_eval(
        &eval("cloud-trail-log-file-validation-enabled", None, &base),
        Compliant,
        None,
    );
    let mut off = base.clone();
    off["configuration"]["logFileValidationEnabled"] = json!(false);
    assert_eval(
        &eval("cloud-trail-log-file-validation-enabled", None, &off),
        NonCompliant,
        Some("log file validation is disabled on trail APJCCloudTrail"),
    );
    assert_eq!(
        eval(
            "cloud-trail-log-file-validation-enabled",
            None,
            &item(S3_RDK)
        )
        .compliance_type,
        NotApplicable
    );
}

#!/usr/bin/env bash
# Seed corpus for fuzz_s3_xml: one small S3 response document of each kind.
set -euo pipefail
d=$1
mkdir -p "$d"
printf '%s' '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>db/0000/</Prefix><IsTruncated>true</IsTruncated><NextContinuationToken>t&amp;1</NextContinuationToken><Contents><Key>db/0000/0000000000000001-0000000000000001.ltx</Key><LastModified>2024-01-02T03:04:05.000Z</LastModified><Size>123</Size></Contents><CommonPrefixes><Prefix>db/generations/</Prefix></CommonPrefixes></ListBucketResult>' >"$d/list.xml"
printf '%s' '<DeleteResult><Deleted><Key>a</Key></Deleted><Error><Key>b&lt;</Key><Code>AccessDenied</Code><Message>no</Message></Error></DeleteResult>' >"$d/delete.xml"
printf '%s' '<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>abc</UploadId></InitiateMultipartUploadResult>' >"$d/initiate.xml"
printf '%s' '<?xml version="1.0"?><LocationConstraint xmlns="x">eu-west-1</LocationConstraint>' >"$d/location.xml"
printf '%s' '<Error><Code>NoSuchKey</Code><Message>m &#233; &#x4e2d;</Message><![CDATA[x]]><!-- c --></Error>' >"$d/error.xml"

"""Offline runtime contracts over synthesized templates: IAM evaluation, encrypted destinations, failure paths.

The checks read CloudFormation templates (the JSON `cdk synth` writes), never the CDK code, so they judge what
would be deployed. Intrinsic functions are resolved symbolically (`resolve.Resolver`): a `Ref` or `Fn::GetAtt`
becomes the ARN or name the resource would have, built from its logical id, so a policy's resource and the
resource a caller uses compare as strings.
"""

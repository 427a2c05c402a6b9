#!/usr/bin/perl
# openapi-answers.pl - docs/openapi.json against JSON::Validator, and the
# service's real answers against docs/openapi.json.
#
# Usage: perl tests/openapi-answers.pl OPENAPI [ANSWERS]
#
# OPENAPI must load as an OpenAPI 3 document: JSON::Validator (Debian's
# libjson-validator-perl) checks it against the specification's own JSON
# Schema (Debian's openapi-specification), and every $ref must resolve.
# ANSWERS, when given, is NDJSON written by tests/test_server.c, one answer
# a line: {"method": "get", "path": "/v1/agents/{agent}", "status": 200,
# "body": ...}; each answer's status must be one its operation documents,
# and its body must match that response's schema.  Prints one line per
# problem; exits 0 when there is none.
use strict;
use warnings;
use JSON::Validator;
use Mojo::File qw(path);
use Mojo::JSON qw(decode_json);

my ($openapi, $answers) = @ARGV;
die "usage: openapi-answers.pl OPENAPI [ANSWERS]\n" unless $openapi;

my $schema = JSON::Validator->new->schema($openapi)->schema;
die "$openapi: not an OpenAPI 3 document\n"
    unless ref($schema) eq 'JSON::Validator::Schema::OpenAPIv3';
my @problems = map {"$openapi: $_"} @{$schema->errors};

# The validator follows a $ref inside a schema, but not a whole response
# given as a $ref (components/responses): those are put in place first.
sub with_responses_inlined {
    my $doc = decode_json(path($openapi)->slurp);
    for my $item (values %{$doc->{paths}}) {
        for my $op (values %$item) {
            for my $response (values %{$op->{responses}}) {
                my $ref = $response->{'$ref'} or next;
                $ref =~ s{^#/components/responses/}{} or die "$openapi: \$ref $ref\n";
                %$response = %{$doc->{components}{responses}{$ref}};
            }
        }
    }
    return JSON::Validator->new->schema($doc)->schema;
}

if ($answers && !@problems) {
    my $inlined = with_responses_inlined();
    for my $line (split /\n/, path($answers)->slurp) {
        my $a = decode_json($line);
        my $route = [$a->{method}, $a->{path}, $a->{status}];
        my $body = sub { {exists => 1, value => $a->{body}, accept => 'application/json'} };
        my @errors = $inlined->parameters_for_response($route)
            ? $inlined->validate_response($route, {body => $body})
            : ('the status is not documented');
        push @problems, map {"$a->{method} $a->{path} $a->{status}: $_"} @errors;
    }
}
print "$_\n" for @problems;
exit(@problems ? 1 : 0);

{#-
    The freshly resolved mapping: every identifier the graph resolved, with its person.

    Survivorship of person ids: a person's id comes from their component's anchor, the
    identifier seen first (earliest `first_seen_at`, ties by type then value), as
    'P' || first 16 hex digits of md5('<type>:<value>'). Identifiers that join later are seen
    later, so the anchor and the id stay; when two persons merge, the older anchor (the person
    seen first) survives and keeps their id; when a person splits, the part holding the anchor
    keeps the id and the other part takes the id of its own earliest identifier. No state is
    read: a full rebuild gives every person the same id.
-#}

with

components as (

    select * from {{ ref('int_identity__components') }}
    where is_resolved

),

identifiers as (

    select * from {{ ref('int_identity__identifiers') }}

),

final as (

    select
        identifiers.identifier_type,
        identifiers.identifier_value,
        {{ identity_person_id('anchors.identifier_type', 'anchors.identifier_value') }}
            as person_id,
        identifiers.first_seen_at,
        identifiers.last_seen_at,
        identifiers.sources,
        anchors.identifier_type as anchor_type,
        anchors.identifier_value as anchor_value,
        anchors.first_seen_at as person_first_seen_at
    from components
    inner join identifiers
        on components.node_id = identifiers.node_id
    inner join identifiers as anchors
        on components.component_node_id = anchors.node_id

)

select * from final

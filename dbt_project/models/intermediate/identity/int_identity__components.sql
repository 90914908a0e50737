{#-
    Connected components of the identity graph: every identifier that passed the screens in
    `int_identity__identifiers`, with the node id of its component's earliest-seen identifier.

    Round 1 propagates the smallest node id over the screened edges for `identity_max_passes`
    passes (`identity_label_passes`: each pass O(edges + identifiers), no recursion).

    Component guard: a component with more than `identity_max_identifiers_per_type`
    identifiers of one type is not one person but people chained together by identifiers they
    share. In such a component every identifier that links two or more CRM ids is a bridge: it
    is left out (`is_bridge`, listed in `int_identity__flagged`) and the rest of the component
    is resolved again (round 2, over that component's edges only). Every other component keeps
    its round-1 label.
-#}

{%- set max_passes = var('identity_max_passes', 8) | int -%}
{%- set max_per_type = var('identity_max_identifiers_per_type', 25) | int -%}

with

identifiers as (

    select * from {{ ref('int_identity__identifiers') }}

),

edges as (

    select * from {{ ref('int_identity__edges') }}

),

nodes as (

    select
        node_id,
        identifier_type,
        identifier_value,
        crm_ids_linked
    from identifiers
    where not is_flagged

),

node_edges as (

    select distinct
        left_end.node_id as left_node_id,
        right_end.node_id as right_node_id
    from edges
    inner join nodes as left_end
        on
            edges.left_type = left_end.identifier_type
            and edges.left_value = left_end.identifier_value
    inner join nodes as right_end
        on
            edges.right_type = right_end.identifier_type
            and edges.right_value = right_end.identifier_value

),

{{ identity_label_passes('first_round', 'nodes', 'node_edges', max_passes) }},

component_type_counts as (

    select
        first_round.label,
        nodes.identifier_type,
        count(*) as identifiers
    from first_round
    inner join nodes
        on first_round.node_id = nodes.node_id
    group by first_round.label, nodes.identifier_type

),

oversized_components as (

    select distinct label
    from component_type_counts
    where identifiers > {{ max_per_type }}

),

second_round_candidates as (

    select
        nodes.node_id,
        nodes.crm_ids_linked >= 2 as is_bridge
    from first_round
    inner join oversized_components
        on first_round.label = oversized_components.label
    inner join nodes
        on first_round.node_id = nodes.node_id

),

second_round_nodes as (

    select node_id
    from second_round_candidates
    where not is_bridge

),

second_round_edges as (

    select
        node_edges.left_node_id,
        node_edges.right_node_id
    from node_edges
    inner join second_round_nodes as left_end
        on node_edges.left_node_id = left_end.node_id
    inner join second_round_nodes as right_end
        on node_edges.right_node_id = right_end.node_id

),

{{ identity_label_passes('second_round', 'second_round_nodes', 'second_round_edges', max_passes) }},

final as (

    select
        nodes.node_id,
        nodes.identifier_type,
        nodes.identifier_value,
        case
            when not coalesce(second_round_candidates.is_bridge, false)
                then coalesce(second_round.label, first_round.label)
        end as component_node_id,
        not coalesce(second_round_candidates.is_bridge, false) as is_resolved,
        coalesce(second_round_candidates.is_bridge, false) as is_bridge,
        first_round.label as first_round_component_node_id,
        second_round_candidates.node_id is not null as in_oversized_component,
        case when second_round.node_id is not null then 2 else 1 end as resolution_round,
        first_round.changed_in_pass as first_round_changed_in_pass,
        second_round.changed_in_pass as second_round_changed_in_pass
    from nodes
    inner join first_round
        on nodes.node_id = first_round.node_id
    left join second_round_candidates
        on nodes.node_id = second_round_candidates.node_id
    left join second_round
        on nodes.node_id = second_round.node_id

)

select * from final

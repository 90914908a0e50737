{#-
    Convergence of the identity components: no edge between two resolved identifiers joins two
    different components. Label propagation is unrolled for `identity_max_passes` passes; if a
    component is wider than that, some edge still has different labels at its two ends and this
    test fails (raise the var). Rows returned are the offending edges.

    `model` has identifier_type, identifier_value, the label column and `is_resolved` (false
    for identifiers the graph left out); `edges` has left_/right_ type and value.
-#}
{% test identity_labels_converged(model, edges, label_column='component_node_id') %}

with

components as (

    select * from {{ model }}
    where is_resolved

),

edges as (

    select * from {{ edges }}

),

split_edges as (

    select
        edges.left_type,
        edges.left_value,
        edges.right_type,
        edges.right_value,
        left_end.{{ label_column }} as left_label,
        right_end.{{ label_column }} as right_label
    from edges
    inner join components as left_end
        on
            edges.left_type = left_end.identifier_type
            and edges.left_value = left_end.identifier_value
    inner join components as right_end
        on
            edges.right_type = right_end.identifier_type
            and edges.right_value = right_end.identifier_value
    where left_end.{{ label_column }} <> right_end.{{ label_column }}

)

select * from split_edges

{% endtest %}
